// Initializer.swift — weight initialisers, drawn from the counter-based generator keyed by (seed, parameter
// name): the same seed gives the same model on any number of ranks, and adding a layer does not change the
// weights of the others.
import Tensor

public enum Initializer: Equatable, Sendable, CustomStringConvertible {
    /// N(0, gain²/fan_in) (He et al. 2015, fan-in mode).
    case kaimingNormal
    /// U(−b, b), b = gain·√(3/fan_in).
    case kaimingUniform
    /// N(0, gain²·2/(fan_in + fan_out)) (Glorot & Bengio 2010).
    case xavierNormal
    /// U(−b, b), b = gain·√(6/(fan_in + fan_out)).
    case xavierUniform
    /// N(0, σ²) whatever the shape (the seed experiments' "random initialisation" is σ = 0.01).
    case normal(std: Float)
    case zeros

    public var description: String {
        switch self {
        case .kaimingNormal: "kaiming_normal"
        case .kaimingUniform: "kaiming_uniform"
        case .xavierNormal: "xavier_normal"
        case .xavierUniform: "xavier_uniform"
        case .normal(let s): "normal(\(s))"
        case .zeros: "zeros"
        }
    }

    /// Fills `count` values for the parameter named `name` (e.g. "conv1.weight").
    public func fill(_ p: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, gain: Float,
                     seed: UInt64, name: String) {
        let rng = RandomStream(seed: seed, name: "init/" + name)
        let fi = Float(max(fanIn, 1)), fo = Float(max(fanOut, 1))
        func normal(_ std: Float) { for i in 0..<count { p[i] = std * rng.normal(UInt64(i)) } }
        func uniform(_ bound: Float) { for i in 0..<count { p[i] = bound * (2 * rng.uniform(UInt64(i)) - 1) } }
        switch self {
        case .kaimingNormal: normal(gain / fi.squareRoot())
        case .kaimingUniform: uniform(gain * (3 / fi).squareRoot())
        case .xavierNormal: normal(gain * (2 / (fi + fo)).squareRoot())
        case .xavierUniform: uniform(gain * (6 / (fi + fo)).squareRoot())
        case .normal(let std): normal(std)
        case .zeros: p.update(repeating: 0, count: count)
        }
    }
}
