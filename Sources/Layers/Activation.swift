// Activation.swift — elementwise nonlinearities: ReLU, LeakyReLU(α), ELU(α), Sigmoid, Tanh.
// The switch is outside the loops so that each loop vectorises.
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A nonlinearity, also used to pick the gain of Kaiming/Xavier initialisation.
public enum Nonlinearity: Equatable, Sendable, CustomStringConvertible {
    case identity
    case relu
    case leakyRelu(Float)
    case elu(Float)
    case sigmoid
    case tanh

    public var description: String {
        switch self {
        case .identity: "identity"
        case .relu: "relu"
        case .leakyRelu(let a): "leaky_relu(\(a))"
        case .elu(let a): "elu(\(a))"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        }
    }

    /// True when the function never decreases, so that it commutes with max-pooling.
    public var isMonotone: Bool {
        switch self {
        case .leakyRelu(let a), .elu(let a): a >= 0
        default: true
        }
    }

    /// The recommended initialisation gain, as torch.nn.init.calculate_gain. ELU has no entry there; it
    /// behaves like ReLU for positive inputs and we use ReLU's gain.
    public var gain: Float {
        switch self {
        case .identity, .sigmoid: 1
        case .relu, .elu: Float(2).squareRoot()
        case .leakyRelu(let a): (2 / (1 + a * a)).squareRoot()
        case .tanh: 5.0 / 3.0
        }
    }
}

public final class Activation: Layer {
    public var name = "act"
    public let function: Nonlinearity

    public init(_ function: Nonlinearity) { self.function = function }

    public var summary: String {
        switch function {
        case .identity: "Identity"
        case .relu: "ReLU"
        case .leakyRelu(let a): "LeakyReLU(\(a))"
        case .elu(let a): "ELU(\(a))"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        }
    }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        return shapes[0]
    }

    public func forward(_ inputs: [Tensor], into output: Tensor, _ context: PassContext) {
        let n = output.count, x = inputs[0].data, y = output.data
        switch function {
        case .identity: y.update(from: x, count: n)
        case .relu: for i in 0..<n { y[i] = max(x[i], 0) }
        case .leakyRelu(let a): for i in 0..<n { y[i] = x[i] > 0 ? x[i] : a * x[i] }
        case .elu(let a): for i in 0..<n { y[i] = x[i] > 0 ? x[i] : a * (expm1f(x[i])) }
        case .sigmoid: for i in 0..<n { y[i] = 1 / (1 + expf(-x[i])) }
        case .tanh: for i in 0..<n { y[i] = tanhf(x[i]) }
        }
    }

    /// Derivatives are taken from the output where that is exact (sigmoid, tanh, ELU's negative side), which
    /// saves recomputing the transcendental.
    public func backward(_ inputs: [Tensor], output: Tensor, outputGradient: Tensor,
                         inputGradients: [Tensor?], _ context: PassContext) {
        guard let dxT = inputGradients[0] else { return }
        let n = output.count, x = inputs[0].data, y = output.data, dy = outputGradient.data, dx = dxT.data
        switch function {
        case .identity: dx.update(from: dy, count: n)
        // dy[i] is read before the comparison: read only when x[i] > 0, the compiler keeps a branch, which
        // mispredicts on half the units (ReLU's backward took 10 % of an MLP epoch); read always, it is a select.
        case .relu: for i in 0..<n { let g = dy[i]; dx[i] = x[i] > 0 ? g : 0 }
        case .leakyRelu(let a): for i in 0..<n { let g = dy[i]; dx[i] = x[i] > 0 ? g : a * g }
        case .elu(let a): for i in 0..<n { let g = dy[i], v = y[i]; dx[i] = x[i] > 0 ? g : g * (v + a) }
        case .sigmoid: for i in 0..<n { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh: for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        }
    }
}
