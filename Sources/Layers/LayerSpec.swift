// LayerSpec.swift — one entry of an explicit layer list in a model spec: a kind, options, an optional name and
// the names of the nodes it reads (the previous entry by default). Turns into a Layer, or into an error that
// names the entry and the option.

public struct LayerSpec: Equatable, Sendable, CustomStringConvertible {
    public var kind: String
    public var name: String?
    /// Names of the nodes read ("input" is the model's input); empty means the previous entry.
    public var inputs: [String]
    public var options: [String: Double]

    public init(_ kind: String, name: String? = nil, inputs: [String] = [], _ options: [String: Double] = [:]) {
        self.kind = kind; self.name = name; self.inputs = inputs; self.options = options
    }

    /// Options each kind accepts; those in `required` must be given.
    static let known: [String: (options: [String], required: [String])] = [
        "dense": (["out", "bias"], ["out"]),
        "conv2d": (["out", "kernel", "stride", "padding", "bias"], ["out", "kernel"]),
        "maxpool": (["kernel", "stride", "padding"], ["kernel"]),
        "avgpool": (["kernel", "stride", "padding"], ["kernel"]),
        "global_avgpool": ([], []),
        "flatten": ([], []),
        "relu": ([], []), "sigmoid": ([], []), "tanh": ([], []),
        "leaky_relu": (["alpha"], []),
        "elu": (["alpha"], []),
        "dropout": (["p"], ["p"]),
        "batchnorm": (["momentum", "eps"], []),
        "add": ([], []),
        "concat": ([], []),
        "upsample": ([], []),
    ]

    public static var kinds: [String] { known.keys.sorted() }

    public var description: String {
        var parts = [kind]
        if let name { parts.append("name=\(name)") }
        if !inputs.isEmpty { parts.append("inputs=[\(inputs.joined(separator: ","))]") }
        for (k, v) in options.sorted(by: { $0.key < $1.key }) { parts.append("\(k)=\(format(v))") }
        return parts.joined(separator: " ")
    }

    /// Makes the layer. `position` (1-based) names the entry in errors.
    public func makeLayer(position: Int) throws -> Layer {
        let label = "model.layers[\(position)] (\(kind))"
        guard let spec = LayerSpec.known[kind] else {
            throw ModelError("\(label): unknown layer kind; known kinds: \(LayerSpec.kinds.joined(separator: ", "))")
        }
        for key in options.keys.sorted() where !spec.options.contains(key) {
            throw ModelError("\(label): unknown option '\(key)'" + (spec.options.isEmpty ? "; it takes none" : "; it takes \(spec.options.joined(separator: ", "))"))
        }
        for key in spec.required where options[key] == nil {
            throw ModelError("\(label): missing option '\(key)'")
        }
        func int(_ key: String, _ fallback: Int = 0) throws -> Int {
            guard let v = options[key] else { return fallback }
            guard v == v.rounded(), v >= 0, v < 1e9 else { throw ModelError("\(label): option '\(key)' must be a whole number ≥ 0, got \(format(v))") }
            return Int(v)
        }
        func float(_ key: String, _ fallback: Float) -> Float { options[key].map { Float($0) } ?? fallback }
        let bias = (options["bias"] ?? 1) != 0
        switch kind {
        case "dense": return Dense(try int("out"), bias: bias)
        case "conv2d":
            return Conv2D(try int("out"), kernel: try int("kernel"), stride: try int("stride", 1), padding: try int("padding"), bias: bias)
        case "maxpool": return MaxPool2D(try int("kernel"), stride: options["stride"] == nil ? nil : try int("stride"), padding: try int("padding"))
        case "avgpool": return AvgPool2D(try int("kernel"), stride: options["stride"] == nil ? nil : try int("stride"), padding: try int("padding"))
        case "global_avgpool": return GlobalAvgPool()
        case "flatten": return Flatten()
        case "relu": return Activation(.relu)
        case "sigmoid": return Activation(.sigmoid)
        case "tanh": return Activation(.tanh)
        case "leaky_relu": return Activation(.leakyRelu(float("alpha", 0.01)))
        case "elu": return Activation(.elu(float("alpha", 1)))
        case "dropout": return Dropout(float("p", 0.5))
        case "batchnorm": return BatchNorm(momentum: float("momentum", 0.1), epsilon: float("eps", 1e-5))
        case "add": return Add()
        case "concat": return Concat()
        default: return Upsample()
        }
    }
}

/// 3 → "3", 0.5 → "0.5".
func format(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
