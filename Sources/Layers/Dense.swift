// Dense.swift — fully connected layer y = x·Wᵀ + b over the whole batch: one sgemm forward, two backward.
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
        let n = x[0].batch
        // y[n×out] = x[n×in] · W[out×in]ᵀ
        BLAS.gemm(transB: true, m: n, n: outputs, k: inputs,
                  a: x[0].data, lda: inputs, b: weight.value, ldb: inputs, c: y.data, ldc: outputs)
        if let bias { Kernels.addRowVector(rows: n, cols: outputs, bias.value, y.data) }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        let n = x[0].batch
        // dW[out×in] = dy[n×out]ᵀ · x[n×in]
        BLAS.gemm(transA: true, m: outputs, n: inputs, k: n,
                  a: dy.data, lda: outputs, b: x[0].data, ldb: inputs, c: weight.gradient, ldc: inputs)
        if let bias { Kernels.sumRows(rows: n, cols: outputs, dy.data, into: bias.gradient) }
        // dx[n×in] = dy[n×out] · W[out×in]
        if let dx0 = dx[0] {
            BLAS.gemm(m: n, n: inputs, k: outputs,
                      a: dy.data, lda: outputs, b: weight.value, ldb: inputs, c: dx0.data, ldc: inputs)
        }
    }
}
