// Model.swift — a model is a graph of layers over one flat parameter vector. Nodes are kept in topological
// order: the forward runs them first to last, the backward last to first. A node read by several others
// (a residual or U-Net skip) gets one gradient buffer per reader, summed before its own backward.
import Tensor

public final class Model {
    /// One layer application in the graph. Node 0 is the input and has no layer.
    public final class Node {
        public let name: String
        public let layer: Layer?
        /// Indices of the nodes this one reads.
        public let inputs: [Int]
        /// Per-sample output shape.
        public let shape: [Int]
        public let output: Tensor
        /// ∂L/∂output; nil when nothing upstream of the node has parameters (the input, a Flatten right after it).
        let outputGradient: Tensor?
        /// The tensors given to the layer, in order, fixed at build time so that the passes never allocate.
        var inputTensors: [Tensor] = []
        /// Where the layer writes ∂L/∂input i: the producer's `outputGradient`, a per-edge buffer when the producer
        /// has several readers, or nil for the model input.
        var inputGradients: [Tensor?] = []
        /// Per-reader gradient buffers to sum into `outputGradient` (empty unless several nodes read this one).
        var readerGradients: [Tensor] = []

        /// `viewing`: a producer this node reshapes (its only reader); the node's output and gradient are then
        /// views of the producer's.
        init(name: String, layer: Layer?, inputs: [Int], shape: [Int], maxBatch: Int, needsGradient: Bool,
             viewing producer: Node? = nil) {
            self.name = name; self.layer = layer; self.inputs = inputs; self.shape = shape
            if let producer {
                output = Tensor(viewing: producer.output, shape: [maxBatch] + shape)
                outputGradient = producer.outputGradient.map { Tensor(viewing: $0, shape: [maxBatch] + shape) }
            } else {
                output = Tensor(shape: [maxBatch] + shape)
                outputGradient = needsGradient ? Tensor(shape: [maxBatch] + shape) : nil
            }
        }
    }

    public let nodes: [Node]
    public let maxBatch: Int
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// All trainable parameters, their gradients (same layout) and the layout table.
    public private(set) var parameters: FlatVector
    public private(set) var gradients: FlatVector
    public let layout: [LayoutEntry]
    /// Non-trainable state (BatchNorm running statistics) and its layout.
    public let state: FlatVector
    public let stateLayout: [LayoutEntry]
    /// The initial value of each parameter and state entry, by layout index.
    let parameterInitial: [ParameterDecl.Initial]
    let stateInitial: [ParameterDecl.Initial]

    init(nodes: [Node], maxBatch: Int, layout: [LayoutEntry], parameterInitial: [ParameterDecl.Initial],
         stateLayout: [LayoutEntry], stateInitial: [ParameterDecl.Initial]) {
        self.nodes = nodes
        self.maxBatch = maxBatch
        inputShape = nodes[0].shape
        outputShape = nodes[nodes.count - 1].shape
        self.layout = layout
        self.parameterInitial = parameterInitial
        self.stateLayout = stateLayout
        self.stateInitial = stateInitial
        parameters = FlatVector(count: layout.last.map { $0.offset + $0.count } ?? 0)
        gradients = FlatVector(count: parameters.count)
        state = FlatVector(count: stateLayout.last.map { $0.offset + $0.count } ?? 0)
    }

    /// Called during `backward` as each layer with parameters finishes, with the offset of its first parameter:
    /// from there to the end of the flat vector this step's gradients are final (layers are laid out in
    /// topological order and run backward in reverse). GradientSync starts reducing them while backward goes on.
    public var gradientsFinal: ((Int) -> Void)?
    /// Each node's first parameter offset (nil for a node without parameters).
    private var firstParameter: [Int?] = []
    /// Where each layer's parameters begin in the flat vector, in order.
    public var layerStarts: [Int] { firstParameter.compactMap { $0 } }

    /// Points every layer at its slices of `parameters`, `gradients` and `state`.
    func bindLayers() {
        var pi = 0, si = 0
        firstParameter = nodes.map { _ in nil }
        for (n, node) in nodes.enumerated() {
            guard let layer = node.layer else { continue }
            if !layer.parameterDecls.isEmpty { firstParameter[n] = layout[pi].offset }
            let slots = layer.parameterDecls.map { d -> ParameterSlot in
                defer { pi += 1 }
                let e = layout[pi]
                return ParameterSlot(value: parameters.data + e.offset, gradient: gradients.data + e.offset, count: d.count)
            }
            let stateSlots = layer.stateDecls.map { _ -> UnsafeMutablePointer<Float> in
                defer { si += 1 }
                return state.data + stateLayout[si].offset
            }
            layer.bind(parameters: slots, state: stateSlots)
        }
    }

    /// Moves the parameters and gradients into memory the caller provides (a node's shared-memory window), with
    /// the parameters' current values when `copyParameters`; the layers follow.
    public func relocate(parameters newParameters: FlatVector, gradients newGradients: FlatVector, copyParameters: Bool) {
        precondition(newParameters.count == parameters.count && newGradients.count == parameters.count)
        if copyParameters { newParameters.copy(from: parameters) }
        parameters = newParameters
        gradients = newGradients
        bindLayers()
    }

    /// The tensor the data loader fills: [batch] + inputShape, up to `maxBatch` samples.
    public var input: Tensor { nodes[0].output }
    /// The output of the last forward.
    public var output: Tensor { nodes[nodes.count - 1].output }
    /// Where the loss writes ∂L/∂output before `backward`.
    public var outputGradient: Tensor { nodes[nodes.count - 1].outputGradient! }
    public var parameterCount: Int { parameters.count }

    /// Runs the graph on the first `batch` samples of `input`.
    @discardableResult
    public func forward(batch: Int, _ context: PassContext) -> Tensor {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        for node in nodes {
            node.output.setBatch(batch)
            node.outputGradient?.setBatch(batch)
            for t in node.readerGradients { t.setBatch(batch) }
        }
        for node in nodes.dropFirst() {
            node.layer!.forward(node.inputTensors, into: node.output, context)
        }
        return output
    }

    /// Backpropagates `outputGradient` through the graph, overwriting `gradients`. Must follow `forward` on the
    /// same batch.
    public func backward(_ context: PassContext) {
        for n in stride(from: nodes.count - 1, through: 1, by: -1) where nodes[n].outputGradient != nil {
            let node = nodes[n]
            if let first = node.readerGradients.first, let total = node.outputGradient {
                Kernels.sum(total.count, first.data, node.readerGradients[1].data, into: total.data)
                for more in node.readerGradients.dropFirst(2) { Kernels.add(total.count, more.data, into: total.data) }
            }
            node.layer!.backward(node.inputTensors, output: node.output, outputGradient: node.outputGradient!,
                                 inputGradients: node.inputGradients, context)
            if let gradientsFinal, let offset = firstParameter[n] { gradientsFinal(offset) }
        }
    }

    /// The BatchNorm layers, in forward order.
    public var batchNorms: [BatchNorm] { nodes.compactMap { $0.layer as? BatchNorm } }

    /// For a rank whose share of a training step is empty: the collectives that `forward` and `backward` would
    /// take part in, in the same order, each adding zeros: the synchronised BatchNorm sums
    /// (BatchNorm.synchronizeWithoutSamples) and the node's Dense forwards (DenseNodeSplit).
    public func synchronizeWithoutSamples() {
        for node in nodes {
            (node.layer as? BatchNorm)?.synchronizeWithoutSamples(forward: true)
            (node.layer as? Dense)?.nodeSplit?.forwardWithoutSamples()
        }
        for node in nodes.reversed() where node.outputGradient != nil && node.inputGradients.first.flatMap({ $0 }) != nil {
            (node.layer as? BatchNorm)?.synchronizeWithoutSamples(forward: false)
        }
    }

    /// Sets every parameter from `initializer` and the seed (Kaiming uses `gain`, normally the gain of the
    /// model's nonlinearity), biases and BatchNorm shifts to 0, BatchNorm scales to 1, running statistics to
    /// their PyTorch initial values.
    public func initialize(seed: UInt64, _ initializer: Initializer, gain: Float) {
        for (entry, initial) in zip(layout, parameterInitial) {
            let p = parameters.data + entry.offset
            switch initial {
            case .weight(let fanIn, let fanOut):
                initializer.fill(p, count: entry.count, fanIn: fanIn, fanOut: fanOut, gain: gain, seed: seed, name: entry.name)
            case .zeros: p.update(repeating: 0, count: entry.count)
            case .ones: p.update(repeating: 1, count: entry.count)
            }
        }
        for (entry, initial) in zip(stateLayout, stateInitial) {
            (state.data + entry.offset).update(repeating: initial.isOnes ? 1 : 0, count: entry.count)
        }
    }

    /// The layout entry of a named parameter ("conv1.weight").
    public func entry(_ name: String) -> LayoutEntry? { layout.first { $0.name == name } }

    /// A readable table of the model: node, layer, output shape, parameters.
    public var summary: String {
        var lines = ["node          layer                                   output            params"]
        for node in nodes {
            let params = layout.filter { $0.name.hasPrefix(node.name + ".") }.map(\.count).reduce(0, +)
            let layer = node.layer?.summary ?? "input"
            let from = node.inputs.count > 1 ? " ← " + node.inputs.map { nodes[$0].name }.joined(separator: ", ") : ""
            lines.append(pad(node.name, 14) + pad(layer + from, 40) + pad(show(node.shape), 18) + String(params))
        }
        lines.append("total parameters: \(parameterCount)")
        return lines.joined(separator: "\n")
    }
}

/// Left-aligns `s` in a column of `width` characters.
func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

extension ParameterDecl.Initial {
    var isOnes: Bool { if case .ones = self { true } else { false } }
}
