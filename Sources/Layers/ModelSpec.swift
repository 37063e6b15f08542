// ModelSpec.swift — the declarative description of a model (what a job file's [model] table says) and the
// built-in architectures: MLP, LeNet-5, a width-scalable CNN and ResNet, a small U-Net, or an explicit layer list.
// `canonical` is the spec as stable text: stored in checkpoints, compared on resume.

public struct ModelSpec: Equatable, Sendable, CustomStringConvertible {
    public enum Architecture: Equatable, Sendable {
        /// Flatten → [Dense(h) → activation (→ dropout)] for each hidden width → Dense(classes).
        case mlp(hidden: [Int])
        /// LeCun et al. 1998 as in the seed experiments: conv 6@5×5 → pool 2 → conv 16@5×5 → pool 2 →
        /// 120 → 84 → classes, max-pooling; 28×28 inputs are padded by 2 in the first convolution.
        case lenet5
        /// The width-k five-layer CNN of Nakkiran et al. 2019: conv k, 2k, 4k, 8k (3×3, BatchNorm, activation),
        /// 2×2 max-pool after the last three, global average pooling, Dense(classes).
        case cnn(width: Int)
        /// A width-k ResNet: 3×3 stem with k channels, stages of `blocks[i]` basic blocks with k·2ⁱ channels
        /// (stride 2 from the second stage), global average pooling, Dense(classes).
        case resnet(width: Int, blocks: [Int])
        /// A U-Net with `depth` poolings and `channels` channels at the first level, doubling per level; the
        /// output is a [classes, H, W] map of logits.
        case unet(depth: Int, channels: Int)
        /// An explicit list of layers (a graph when entries name their inputs).
        case layers([LayerSpec])
    }

    public var architecture: Architecture
    public var activation: Nonlinearity
    public var initializer: Initializer
    /// BatchNorm after each convolution of the CNN, ResNet and U-Net (ResNets always use it).
    public var batchNorm: Bool
    /// Dropout after each hidden layer of the MLP.
    public var dropout: Float

    public init(_ architecture: Architecture, activation: Nonlinearity = .relu,
                initializer: Initializer = .kaimingNormal, batchNorm: Bool = true, dropout: Float = 0) {
        self.architecture = architecture; self.activation = activation; self.initializer = initializer
        self.batchNorm = batchNorm; self.dropout = dropout
    }

    /// The initialisation gain: the activation's for Kaiming, 1 for Xavier and the others (PyTorch's defaults).
    public var gain: Float {
        switch initializer {
        case .kaimingNormal, .kaimingUniform: activation.gain
        default: 1
        }
    }

    public var canonical: String {
        let arch: String
        switch architecture {
        case .mlp(let hidden): arch = "mlp(hidden=\(hidden))"
        case .lenet5: arch = "lenet5"
        case .cnn(let width): arch = "cnn(width=\(width))"
        case .resnet(let width, let blocks): arch = "resnet(width=\(width), blocks=\(blocks))"
        case .unet(let depth, let channels): arch = "unet(depth=\(depth), channels=\(channels))"
        case .layers(let list): arch = "layers[" + list.map(\.description).joined(separator: "; ") + "]"
        }
        // Only the options the architecture uses (an MLP has no BatchNorm, only the MLP has dropout).
        var text = "\(arch) activation=\(activation) init=\(initializer)"
        switch architecture {
        case .cnn, .resnet, .unet: text += " batchnorm=\(batchNorm)"
        case .mlp: text += " dropout=\(dropout)"
        case .lenet5, .layers: break
        }
        return text
    }
    public var description: String { canonical }

    /// Builds the model for inputs of per-sample shape `input` (e.g. [1, 28, 28]) and `classes` outputs, for
    /// batches up to `maxBatch`. Parameters are not initialised (call `Model.initialize`).
    public func build(input: [Int], classes: Int, maxBatch: Int) throws -> Model {
        guard classes >= 1 else { throw ModelError("model: needs at least 1 class, got \(classes)") }
        var g = GraphBuilder(inputShape: input)
        switch architecture {
        case .mlp(let hidden): try buildMLP(&g, hidden: hidden, classes: classes)
        case .lenet5: try buildLeNet5(&g, input: input, classes: classes)
        case .cnn(let width): try buildCNN(&g, width: width, classes: classes)
        case .resnet(let width, let blocks): try buildResNet(&g, width: width, blocks: blocks, classes: classes)
        case .unet(let depth, let channels): try buildUNet(&g, input: input, depth: depth, channels: channels, classes: classes)
        case .layers(let list): try buildList(&g, list)
        }
        return try g.build(maxBatch: maxBatch)
    }

    private func act() -> Layer { Activation(activation) }

    private func buildMLP(_ g: inout GraphBuilder, hidden: [Int], classes: Int) throws {
        if g.shape(of: g.input).count != 1 { try g.add(Flatten(), name: "flatten") }
        for (i, width) in hidden.enumerated() {
            try g.add(Dense(width), name: "fc\(i + 1)")
            try g.add(act(), name: "act\(i + 1)")
            if dropout > 0 { try g.add(Dropout(dropout), name: "dropout\(i + 1)") }
        }
        try g.add(Dense(classes), name: "fc\(hidden.count + 1)")
    }

    private func buildLeNet5(_ g: inout GraphBuilder, input: [Int], classes: Int) throws {
        let pad = input.count == 3 && input[1] == 28 ? 2 : 0   // MNIST's 28×28 padded to LeNet's 32×32
        // Pooling before the activation when the activation is monotone: max-pool and activation then commute
        // (same outputs, same gradients) and the activation touches a quarter of the values.
        let poolFirst = activation.isMonotone
        for (i, channels) in [6, 16].enumerated() {
            try g.add(Conv2D(channels, kernel: 5, padding: i == 0 ? pad : 0), name: "conv\(i + 1)")
            if poolFirst { try g.add(MaxPool2D(2), name: "pool\(i + 1)") }
            try g.add(act(), name: "act\(i + 1)")
            if !poolFirst { try g.add(MaxPool2D(2), name: "pool\(i + 1)") }
        }
        try g.add(Flatten(), name: "flatten")
        try g.add(Dense(120), name: "fc1")
        try g.add(act(), name: "act3")
        try g.add(Dense(84), name: "fc2")
        try g.add(act(), name: "act4")
        try g.add(Dense(classes), name: "fc3")
    }

    /// conv 3×3 → (BatchNorm) → activation, named "<prefix>", "<prefix>_bn", "<prefix>_act".
    @discardableResult
    private func convUnit(_ g: inout GraphBuilder, _ prefix: String, _ channels: Int, stride: Int = 1,
                          from: GraphBuilder.Ref? = nil, activate: Bool = true, norm: Bool? = nil) throws -> GraphBuilder.Ref {
        var x = try g.add(Conv2D(channels, kernel: 3, stride: stride, padding: 1, bias: !(norm ?? batchNorm)), name: prefix,
                          inputs: from.map { [$0] } ?? [])
        if norm ?? batchNorm { x = try g.add(BatchNorm(), name: prefix + "_bn") }
        if activate { x = try g.add(act(), name: prefix + "_act") }
        return x
    }

    private func buildCNN(_ g: inout GraphBuilder, width: Int, classes: Int) throws {
        guard width >= 1 else { throw ModelError("model: cnn width must be ≥ 1, got \(width)") }
        for (i, k) in [1, 2, 4, 8].enumerated() {
            try convUnit(&g, "conv\(i + 1)", k * width)
            if i > 0 { try g.add(MaxPool2D(2), name: "pool\(i)") }
        }
        try g.add(GlobalAvgPool(), name: "gap")
        try g.add(Dense(classes), name: "fc")
    }

    private func buildResNet(_ g: inout GraphBuilder, width: Int, blocks: [Int], classes: Int) throws {
        guard width >= 1, !blocks.isEmpty, blocks.allSatisfy({ $0 >= 1 }) else {
            throw ModelError("model: resnet needs width ≥ 1 and at least one stage of ≥ 1 blocks, got width \(width), blocks \(blocks)")
        }
        var x = try convUnit(&g, "stem", width, norm: true)
        var channels = width
        for (stage, count) in blocks.enumerated() {
            let out = width << stage
            for b in 0..<count {
                let stride = stage > 0 && b == 0 ? 2 : 1
                let p = "s\(stage + 1)b\(b + 1)"
                try convUnit(&g, p + "_conv1", out, stride: stride, from: x, norm: true)
                let main = try convUnit(&g, p + "_conv2", out, activate: false, norm: true)
                var shortcut = x
                if stride != 1 || channels != out {
                    try g.add(Conv2D(out, kernel: 1, stride: stride, bias: false), name: p + "_proj", inputs: [x])
                    shortcut = try g.add(BatchNorm(), name: p + "_proj_bn")
                }
                try g.add(Add(), name: p + "_add", inputs: [main, shortcut])
                x = try g.add(act(), name: p + "_act")
                channels = out
            }
        }
        try g.add(GlobalAvgPool(), name: "gap")
        try g.add(Dense(classes), name: "fc")
    }

    private func buildUNet(_ g: inout GraphBuilder, input: [Int], depth: Int, channels: Int, classes: Int) throws {
        guard depth >= 1, channels >= 1 else { throw ModelError("model: unet needs depth ≥ 1 and channels ≥ 1, got \(depth) and \(channels)") }
        guard input.count == 3, input[1] % (1 << depth) == 0, input[2] % (1 << depth) == 0 else {
            throw ModelError("model: a unet of depth \(depth) needs an image input whose height and width are multiples of \(1 << depth), got \(show(input))")
        }
        var skips: [GraphBuilder.Ref] = []
        for level in 0..<depth {
            try convUnit(&g, "enc\(level + 1)a", channels << level)
            skips.append(try convUnit(&g, "enc\(level + 1)b", channels << level))
            try g.add(MaxPool2D(2), name: "down\(level + 1)")
        }
        try convUnit(&g, "mid_a", channels << depth)
        try convUnit(&g, "mid_b", channels << depth)
        for level in (0..<depth).reversed() {
            try g.add(Upsample(), name: "up\(level + 1)")
            let up = try convUnit(&g, "up\(level + 1)_conv", channels << level)
            try g.add(Concat(), name: "skip\(level + 1)", inputs: [up, skips[level]])
            try convUnit(&g, "dec\(level + 1)a", channels << level)
            try convUnit(&g, "dec\(level + 1)b", channels << level)
        }
        try g.add(Conv2D(classes, kernel: 1), name: "logits")
    }

    private func buildList(_ g: inout GraphBuilder, _ list: [LayerSpec]) throws {
        guard !list.isEmpty else { throw ModelError("model.layers: the list is empty") }
        var refs: [String: GraphBuilder.Ref] = ["input": g.input]
        for (i, spec) in list.enumerated() {
            let layer = try spec.makeLayer(position: i + 1)
            let inputs = try spec.inputs.map { name -> GraphBuilder.Ref in
                guard let r = refs[name] else {
                    throw ModelError("model.layers[\(i + 1)] (\(spec.kind)): input '\(name)' is not the name of an earlier layer")
                }
                return r
            }
            let r = try g.add(layer, name: spec.name, inputs: inputs)
            refs[layer.name] = r
        }
    }
}
