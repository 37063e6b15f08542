// GraphBuilder.swift — assembles layers into a Model: infers every shape when a layer is added (so a bad spec
// fails at build time, naming the layer and the shapes), lays the parameters out in one flat vector, and
// wires the buffers of the forward and backward passes.
import Tensor
#if canImport(Glibc)
import Glibc
#endif

public struct GraphBuilder {
    /// A handle on a node added to the builder.
    public struct Ref: Hashable, Sendable { public let index: Int }

    private struct Pending {
        var name: String
        var layer: Layer?
        var inputs: [Int]
        var shape: [Int]
    }
    private var pending: [Pending]
    private var names: Set<String> = ["input"]
    private var kindCounts: [String: Int] = [:]

    public init(inputShape: [Int]) {
        pending = [Pending(name: "input", layer: nil, inputs: [], shape: inputShape)]
    }

    /// The model's input.
    public var input: Ref { Ref(index: 0) }

    /// The per-sample shape of a node.
    public func shape(of ref: Ref) -> [Int] { pending[ref.index].shape }

    /// Adds `layer` reading `inputs` (the previous node if none are given) and returns its node.
    /// Throws a `ModelError` naming the layer and the input shapes if they do not fit.
    @discardableResult
    public mutating func add(_ layer: Layer, name: String? = nil, _ inputs: Ref...) throws -> Ref {
        try add(layer, name: name, inputs: inputs)
    }

    @discardableResult
    public mutating func add(_ layer: Layer, name: String? = nil, inputs: [Ref]) throws -> Ref {
        let from = inputs.isEmpty ? [pending.count - 1] : inputs.map(\.index)
        let nodeName = name ?? autoName(for: layer)
        guard !names.contains(nodeName) else { throw ModelError("model: two layers are named '\(nodeName)'") }
        guard from.allSatisfy({ $0 >= 0 && $0 < pending.count }) else {
            throw ModelError("model: layer '\(nodeName)' reads a node that does not exist")
        }
        let shapes = from.map { pending[$0].shape }
        if let huge = shapes.first(where: { countElements($0) == nil }) {   // only the input can be: outputs are checked
            throw ModelError("model: the input \(show(huge)) has more elements than a 64-bit count holds")
        }
        layer.name = nodeName
        do {
            let out = try layer.configure(inputs: shapes)
            guard out.allSatisfy({ $0 > 0 }) else { throw ShapeProblem("would produce an empty output \(show(out))") }
            guard countElements(out) != nil else { throw ShapeProblem("its output \(show(out)) has more elements than a 64-bit count holds") }
            if let d = layer.parameterDecls.first(where: { countElements($0.shape) == nil }) {
                throw ShapeProblem("its \(d.name) \(show(d.shape)) has more elements than a 64-bit count holds")
            }
            pending.append(Pending(name: nodeName, layer: layer, inputs: from, shape: out))
        } catch let problem as ShapeProblem {
            throw ModelError("model: layer '\(nodeName)' (\(layer.summary)) cannot take input \(show(shapes)): \(problem)")
        }
        names.insert(nodeName)
        return Ref(index: pending.count - 1)
    }

    /// "conv1", "conv2", "relu1", ... from the layer's summary.
    private mutating func autoName(for layer: Layer) -> String {
        let kind = String(layer.summary.prefix { $0.isLetter || $0.isNumber && $0 != "(" }).lowercased()
        var n = kindCounts[kind, default: 0]
        var candidate: String
        repeat { n += 1; candidate = "\(kind)\(n)" } while names.contains(candidate)
        kindCounts[kind] = n
        return candidate
    }

    /// Where the next entry after `layout` starts (its float count), as long as its bytes can be counted.
    private func end(of layout: [LayoutEntry], _ what: String) throws -> Int {
        guard let last = layout.last else { return 0 }
        let (end, overflow) = last.offset.addingReportingOverflow(last.count)   // count checked when the layer was added
        guard !overflow, countElements([end, MemoryLayout<Float>.stride]) != nil else {
            throw ModelError("model: its \(what) have more elements than a 64-bit count holds (at '\(last.name)' \(show(last.shape)))")
        }
        return end
    }

    /// Every node's activations are allocated for `maxBatch` samples of 4 bytes: their byte counts must fit.
    private func checkBatchesCountable(_ maxBatch: Int) throws {
        for p in pending where countElements([maxBatch, MemoryLayout<Float>.stride] + p.shape) == nil {
            throw ModelError("model: batches of \(maxBatch) samples of \(p.name == "input" ? "the input" : "layer '\(p.name)''s output") \(show(p.shape)) have more bytes than a 64-bit count holds")
        }
    }

    /// The least the model takes: parameters with their gradients and momentum, and every node's activations and
    /// their gradients for `maxBatch` samples. More than the machine's memory is an error here, with the sizes,
    /// rather than a failed allocation (a trap with a backtrace) later.
    private func checkFitsInMemory(parameters: Int, maxBatch: Int) throws {
        let activations = pending.reduce(0.0) { $0 + Double(countElements($1.shape) ?? Int.max) }
        let bytes = 4 * (3 * Double(parameters) + 2 * Double(maxBatch) * activations)
        let memory = Double(sysconf(CInt(_SC_PHYS_PAGES))) * Double(sysconf(CInt(_SC_PAGESIZE)))
        guard memory <= 0 || bytes <= memory else {
            let gb = { (b: Double) in "\((b / 1e8).rounded() / 10) GB" }
            throw ModelError("model: \(parameters) parameters and the activations of batches of \(maxBatch) need at least \(gb(bytes)), but this machine has \(gb(memory)) of memory; HINT: a smaller model, optim.batch_size or eval.batch_size")
        }
    }

    /// Builds the model whose output is `output` (the last node added by default), for batches up to `maxBatch`.
    public func build(output: Ref? = nil, maxBatch: Int) throws -> Model {
        guard maxBatch >= 1 else { throw ModelError("model: the batch size must be at least 1, got \(maxBatch)") }
        guard pending.count > 1 else { throw ModelError("model: it has no layers") }
        let last = output?.index ?? pending.count - 1
        guard last == pending.count - 1 else {
            throw ModelError("model: the output must be the last layer added ('\(pending[pending.count - 1].name)')")
        }
        // Readers of each node; nodes nobody reads (other than the output) are dead branches.
        var readers = [[Int]](repeating: [], count: pending.count)
        for (i, p) in pending.enumerated() { for j in p.inputs { readers[j].append(i) } }
        for (i, p) in pending.enumerated() where i != last && readers[i].isEmpty {
            throw ModelError("model: the output of layer '\(p.name)' is never used")
        }
        guard readers[last].isEmpty else { throw ModelError("model: the output layer '\(pending[last].name)' is read by another layer") }

        try checkBatchesCountable(maxBatch)
        // Parameter and state layout, in node order.
        var layout: [LayoutEntry] = [], initial: [ParameterDecl.Initial] = []
        var stateLayout: [LayoutEntry] = [], stateInitial: [ParameterDecl.Initial] = []
        for p in pending {
            guard let layer = p.layer else { continue }
            for d in layer.parameterDecls {
                layout.append(LayoutEntry(name: "\(p.name).\(d.name)", offset: try end(of: layout, "parameters"), shape: d.shape))
                initial.append(d.initial)
            }
            for d in layer.stateDecls {
                stateLayout.append(LayoutEntry(name: "\(p.name).\(d.name)", offset: try end(of: stateLayout, "buffers"), shape: d.shape))
                stateInitial.append(d.initial)
            }
        }
        try checkFitsInMemory(parameters: try end(of: layout, "parameters"), maxBatch: maxBatch)
        _ = try end(of: stateLayout, "buffers")

        // A node needs ∂L/∂output only if a parameter lies upstream of it: the gradient of the input, and of
        // parameter-free layers right after it (a Flatten before the first Dense), is never computed.
        var needsGradient = [Bool](repeating: false, count: pending.count)
        for (i, p) in pending.enumerated() where i > 0 {
            needsGradient[i] = !(p.layer!.parameterDecls.isEmpty) || p.inputs.contains { needsGradient[$0] }
        }
        needsGradient[last] = true   // the loss writes it, whatever lies upstream
        var nodes: [Model.Node] = []
        for (i, p) in pending.enumerated() {
            // A reshape that is its producer's only reader becomes a view of it (no copy either way).
            let producer = p.layer?.reshapesOnly == true && readers[p.inputs[0]].count == 1 ? nodes[p.inputs[0]] : nil
            nodes.append(Model.Node(name: p.name, layer: p.layer, inputs: p.inputs, shape: p.shape, maxBatch: maxBatch,
                                    needsGradient: needsGradient[i], viewing: producer))
        }
        let model = Model(nodes: nodes, maxBatch: maxBatch, layout: layout, parameterInitial: initial,
                          stateLayout: stateLayout, stateInitial: stateInitial)

        // Wire inputs and gradient destinations. The k-th reader of a node with several readers writes into
        // that node's k-th reader buffer.
        for (i, node) in nodes.enumerated() where readers[i].count > 1 && needsGradient[i] {
            node.readerGradients = readers[i].map { _ in Tensor(shape: [maxBatch] + node.shape) }
        }
        var nextReaderSlot = [Int](repeating: 0, count: nodes.count)
        for node in nodes.dropFirst() {
            node.inputTensors = node.inputs.map { nodes[$0].output }
            node.inputGradients = node.inputs.map { j -> Tensor? in
                let producer = nodes[j]
                guard producer.outputGradient != nil else { return nil }
                if producer.readerGradients.isEmpty { return producer.outputGradient }
                defer { nextReaderSlot[j] += 1 }
                return producer.readerGradients[nextReaderSlot[j]]
            }
        }

        // Bind parameter and state slices, allocate scratch.
        model.bindLayers()
        for node in nodes { node.layer?.allocate(maxBatch: maxBatch) }
        return model
    }
}

/// The number of elements of `shape`, or nil when it does not fit in an Int.
func countElements(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        let (product, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = product
    }
    return n
}
