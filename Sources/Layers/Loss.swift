// Loss.swift — training losses on a batch of outputs: softmax cross-entropy (fused, stable; per pixel for
// segmentation, with class weights), multi-class hinge, MSE, L1 and binary cross-entropy with logits.
//
// Every loss is defined per sample and returns the SUM over the batch: the distributed step adds sums across
// ranks and divides by the global batch once. The gradient written is `scale` · ∂(Σ loss)/∂output, so
// scale = 1/N gives the batch mean. Outputs are [N, K] or [N, K, H, W]: K classes on the channel axis, and the
// per-sample loss of a spatial output is the mean over its pixels. Each definition matches PyTorch's with
// reduction="mean" when scale = 1/N.
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the outputs are compared with: class indices (one per sample, or per pixel) or dense values shaped
/// like the output.
public enum Target {
    case labels(UnsafePointer<Int32>)
    case values(UnsafePointer<Float>)
}

public protocol Loss: Sendable, CustomStringConvertible {
    /// Σ over the batch of the per-sample loss; if `gradient` is given, writes scale · ∂Σ/∂output into it.
    func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double
}

/// Layout of an output: N samples, K classes on the channel axis, S positions per class (1 for classifiers).
struct OutputLayout {
    let n: Int, k: Int, s: Int
    init(_ t: Tensor) {
        n = t.shape[0]
        k = t.shape.count > 1 ? t.shape[1] : 1
        s = t.shape.count > 2 ? t.shape.dropFirst(2).reduce(1, *) : 1
    }
}

/// Softmax followed by negative log-likelihood, computed together: loss = logsumexp(x) − x_y, gradient =
/// softmax(x) − onehot(y). Optional class weights scale each position's loss by w_y (PyTorch's `weight`,
/// but normalised by the number of positions, not by Σ w, so that sums over ranks stay exact).
public struct SoftmaxCrossEntropy: Loss {
    public let classWeights: [Float]?
    public init(classWeights: [Float]? = nil) { self.classWeights = classWeights }
    public var description: String { classWeights == nil ? "cross_entropy" : "cross_entropy(weighted)" }

    public func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double {
        guard case .labels(let y) = target else { preconditionFailure("cross-entropy needs class labels") }
        let L = OutputLayout(output), x = output.data, g = gradient?.data
        precondition(classWeights == nil || classWeights!.count == L.k, "class weights for \(L.k) classes")
        var total = 0.0
        let perPosition = scale / Float(L.s)
        for n in 0..<L.n {
            for p in 0..<L.s {
                let base = n * L.k * L.s + p, label = Int(y[n * L.s + p])
                precondition(label >= 0 && label < L.k, "label \(label) outside 0..<\(L.k)")
                var m = -Float.infinity
                for c in 0..<L.k { m = max(m, x[base + c * L.s]) }
                var z: Float = 0
                for c in 0..<L.k { z += expf(x[base + c * L.s] - m) }
                let w = classWeights?[label] ?? 1
                total += Double(w) * (Double(logf(z)) + Double(m) - Double(x[base + label * L.s]))
                if let g {
                    let k = w * perPosition / z
                    for c in 0..<L.k { g[base + c * L.s] = k * expf(x[base + c * L.s] - m) }
                    g[base + label * L.s] -= w * perPosition
                }
            }
        }
        return total / Double(L.s)
    }
}

/// PyTorch's MultiMarginLoss (p = 1): Σ_{j≠y} max(0, margin − x_y + x_j) / K per sample.
public struct MultiClassHinge: Loss {
    public let margin: Float
    public init(margin: Float = 1) { self.margin = margin }
    public var description: String { "hinge" }

    public func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double {
        guard case .labels(let y) = target else { preconditionFailure("hinge loss needs class labels") }
        let L = OutputLayout(output), x = output.data, g = gradient?.data
        precondition(L.s == 1, "hinge loss is for classifier outputs [N, K]")
        var total = 0.0
        let step = scale / Float(L.k)
        for n in 0..<L.n {
            let row = x + n * L.k, label = Int(y[n])
            precondition(label >= 0 && label < L.k, "label \(label) outside 0..<\(L.k)")
            let grow = g.map { $0 + n * L.k }
            grow?.update(repeating: 0, count: L.k)
            for j in 0..<L.k where j != label {
                let term = margin - row[label] + row[j]
                if term > 0 {
                    total += Double(term)
                    grow?[j] += step
                    grow?[label] -= step
                }
            }
        }
        return total / Double(L.k)
    }
}

/// Builds the dense target of element i: the given value, or the one-hot encoding of the sample's label
/// (the squared-loss variant of Belkin et al. regresses one-hot vectors).
@inline(__always)
private func targetValue(_ target: Target, _ L: OutputLayout, _ i: Int) -> Float {
    switch target {
    case .values(let v): return v[i]
    case .labels(let y):
        let n = i / (L.k * L.s), c = (i / L.s) % L.k, p = i % L.s
        return Int(y[n * L.s + p]) == c ? 1 : 0
    }
}

/// Mean over the sample's elements of (x − t)².
public struct MeanSquaredError: Loss {
    public init() {}
    public var description: String { "mse" }
    public func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double {
        let L = OutputLayout(output), x = output.data, per = L.k * L.s
        var total = 0.0
        let k = 2 * scale / Float(per)
        for i in 0..<output.count {
            let d = x[i] - targetValue(target, L, i)
            total += Double(d * d)
            gradient?.data[i] = k * d
        }
        return total / Double(per)
    }
}

/// Mean over the sample's elements of |x − t| (subgradient 0 at 0).
public struct MeanAbsoluteError: Loss {
    public init() {}
    public var description: String { "l1" }
    public func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double {
        let L = OutputLayout(output), x = output.data, per = L.k * L.s
        var total = 0.0
        let k = scale / Float(per)
        for i in 0..<output.count {
            let d = x[i] - targetValue(target, L, i)
            total += Double(abs(d))
            gradient?.data[i] = d > 0 ? k : d < 0 ? -k : 0
        }
        return total / Double(per)
    }
}

/// Mean over elements of −[t·log σ(x) + (1 − t)·log(1 − σ(x))], computed as max(x, 0) − x·t + log(1 + e^−|x|).
public struct BinaryCrossEntropyWithLogits: Loss {
    public init() {}
    public var description: String { "bce_with_logits" }
    public func evaluate(_ output: Tensor, _ target: Target, gradient: Tensor?, scale: Float) -> Double {
        let L = OutputLayout(output), x = output.data, per = L.k * L.s
        var total = 0.0
        let k = scale / Float(per)
        for i in 0..<output.count {
            let (v, t) = (x[i], targetValue(target, L, i))
            total += Double(max(v, 0) - v * t + log1pf(expf(-abs(v))))
            gradient?.data[i] = k * (1 / (1 + expf(-v)) - t)
        }
        return total / Double(per)
    }
}

/// The number of positions whose arg-max class equals the label (samples for classifiers, pixels for
/// segmentation). Ties go to the lowest class index, as torch.argmax.
public func countCorrect(_ output: Tensor, labels y: UnsafePointer<Int32>) -> Int {
    let L = OutputLayout(output), x = output.data
    var correct = 0
    for n in 0..<L.n {
        for p in 0..<L.s {
            let base = n * L.k * L.s + p
            var best = 0
            for c in 1..<max(L.k, 1) where x[base + c * L.s] > x[base + best * L.s] { best = c }
            if best == Int(y[n * L.s + p]) { correct += 1 }
        }
    }
    return correct
}
