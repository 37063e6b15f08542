// Dense.swift — fully connected layer y = x·Wᵀ + b over the whole batch: one sgemm forward, two backward. On a
// node of ranks a large one may be split by output units across the ranks (`nodeSplit`).
import Tensor

public final class Dense: Layer {
    public var name = "dense"
    public let outputs: Int
    public let useBias: Bool
    public private(set) var inputs = 0
    private var weight: ParameterSlot!   // outputs × inputs (PyTorch's layout)
    private var bias: ParameterSlot?

    public init(_ outputs: Int, bias: Bool = true) {
        self.outputs = outputs
        self.useBias = bias
    }

    public var summary: String { "Dense(\(outputs)\(useBias ? "" : ", no bias"))" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard outputs > 0 else { throw ShapeProblem("needs at least 1 output, got \(outputs)") }
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        guard shapes[0].count == 1 else {
            throw ShapeProblem("expects a flat input [features], got \(show(shapes[0])); add a Flatten before it")
        }
        inputs = shapes[0][0]
        return [outputs]
    }

    public var parameterDecls: [ParameterDecl] {
        [ParameterDecl("weight", [outputs, inputs], .weight(fanIn: inputs, fanOut: outputs))]
            + (useBias ? [ParameterDecl("bias", [outputs], .zeros)] : [])
    }

    public func bind(parameters: [ParameterSlot], state: [UnsafeMutablePointer<Float>]) {
        weight = parameters[0]
        bias = useBias ? parameters[1] : nil
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        if context.training, let nodeSplit {
            nodeSplit.forward(input: x[0].data, batch: x[0].batch, output: y.data)
        } else {
            computeOutputs(units: 0..<outputs, x: x[0].data, batch: x[0].batch, into: y.data, rowStride: outputs)
        }
    }

    /// Columns `units` of y = x·Wᵀ + b over `batch` samples of x [batch×in], into y's rows `rowStride` apart.
    public func computeOutputs(units: Range<Int>, x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                               rowStride: Int) {
        guard !units.isEmpty else { return }
        // y[n×units] = x[n×in] · W[units×in]ᵀ
        BLAS.gemm(transB: true, m: batch, n: units.count, k: inputs, a: x, lda: inputs,
                  b: weight.value + units.lowerBound * inputs, ldb: inputs, c: y + units.lowerBound, ldc: rowStride)
        if let bias {
            Kernels.addRowVector(rows: batch, cols: units.count, ld: rowStride, bias.value + units.lowerBound, y + units.lowerBound)
        }
    }

    /// Set by a node's data-parallel reduction (NodeSplitDense in Train). A training forward is then the node's:
    /// each rank computes, with `computeOutputs`, the units whose weights it updates, for the node's whole batch.
    /// Backward hands it this step's output gradient and computes only the input gradient; the reduction computes
    /// the parameter gradients later, over the node's batch, with `parameterGradients`.
    public weak var nodeSplit: DenseNodeSplit?

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        let n = x[0].batch
        if let nodeSplit {
            nodeSplit.record(outputGradient: dy.data, batch: n)
        } else {
            parameterGradients(weightRows: 0..<outputs, biasEntries: 0..<outputs, x: x[0].data, dy: dy.data, batch: n)
        }
        // dx[n×in] = dy[n×out] · W[out×in]
        if let dx0 = dx[0] {
            BLAS.gemm(m: n, n: inputs, k: outputs,
                      a: dy.data, lda: outputs, b: weight.value, ldb: inputs, c: dx0.data, ldc: inputs)
        }
    }

    /// Overwrites rows `weightRows` of ∂L/∂W and entries `biasEntries` of ∂L/∂b with their sums over `batch`
    /// samples of the layer's input x [batch×in] and output gradient dy [batch×out].
    public func parameterGradients(weightRows rows: Range<Int>, biasEntries: Range<Int>,
                                   x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int) {
        if !rows.isEmpty {
            // dW[rows×in] = dy[n×rows]ᵀ · x[n×in]
            BLAS.gemm(transA: true, m: rows.count, n: inputs, k: batch, a: dy + rows.lowerBound, lda: outputs,
                      b: x, ldb: inputs, c: weight.gradient + rows.lowerBound * inputs, ldc: inputs)
        }
        if let bias, !biasEntries.isEmpty {
            Kernels.sumRows(rows: batch, cols: biasEntries.count, ld: outputs, dy + biasEntries.lowerBound,
                            into: bias.gradient + biasEntries.lowerBound)
        }
    }
}

/// Takes over a Dense layer's training forward and its parameter gradients for a node of ranks: `forward` writes
/// the layer's output [batch×out] for its input [batch×in] (collective over the node) and keeps the input;
/// `record` gets the output gradient [batch×out] during backward; `forwardWithoutSamples` takes part in the node's forward
/// for a rank without samples in a step.
public protocol DenseNodeSplit: AnyObject {
    func forward(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>)
    func forwardWithoutSamples()
    func record(outputGradient: UnsafePointer<Float>, batch: Int)
}
