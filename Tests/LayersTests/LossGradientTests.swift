// LossGradientTests.swift — every loss's value against its definition and its gradient against finite
// differences of the value, for class labels and dense targets, classifier and per-pixel outputs.
//
// Tolerance: the loss is summed in Double from Float terms, so the central difference at h = 1e-2 carries
// ≈ 1e-6/2e-2 = 5e-5 rounding plus h²/6·|L'''| ≤ 2e-5 truncation; |analytic − numeric| ≤ 1e-3 (gradients here are
// of order 0.01–1, scale 1/N) catches any wrong term while leaving a 10× margin.
import Testing
@testable import Layers
import Tensor
import Foundation

/// Labels for n samples of k classes (per pixel when s > 1).
private func labels(_ count: Int, classes: Int) -> [Int32] {
    let r = RandomStream(seed: 4, name: "labels")
    return (0..<count).map { Int32(r.below(classes, UInt64($0))) }
}

/// A tensor with entries spaced at least `gap` apart in random order (kinks of hinge and L1 are never crossed).
private func spacedTensor(_ shape: [Int], gap: Float = 0.07) -> Tensor {
    let t = Tensor(shape: shape)
    let perm = RandomStream(seed: 8, name: "spaced").permutation(t.count)
    for i in 0..<t.count { t[i] = (Float(perm[i]) - Float(t.count) / 2) * gap + 0.013 }
    return t
}

/// Checks `loss`'s gradient at `x` against central differences of its value; returns the worst error.
private func worstGradientError(_ loss: Loss, _ x: Tensor, _ target: Target, scale: Float, h: Float = 1e-2) -> Double {
    let g = Tensor(shape: x.shape)
    _ = loss.evaluate(x, target, gradient: g, scale: scale)
    var worst = 0.0
    for j in 0..<x.count {
        let saved = x[j]
        x[j] = saved + h; let up = loss.evaluate(x, target, gradient: nil, scale: scale)
        x[j] = saved - h; let down = loss.evaluate(x, target, gradient: nil, scale: scale)
        x[j] = saved
        worst = max(worst, abs(Double(g[j]) - Double(scale) * (up - down) / Double(2 * h)))
    }
    return worst
}

@Suite("Losses")
struct LossTests {
    static let shapes: [[Int]] = [[4, 5], [1, 3], [2, 3, 2, 3]]   // classifier, one sample, per-pixel

    @Test("Softmax cross-entropy: value = logsumexp − x_y, gradient", arguments: shapes)
    func crossEntropy(shape: [Int]) throws {
        let x = spacedTensor(shape, gap: 0.3)
        let s = shape.dropFirst(2).reduce(1, *)
        let y = labels(shape[0] * s, classes: shape[1])
        try y.withUnsafeBufferPointer { yp in
            let loss = SoftmaxCrossEntropy()
            let value = loss.evaluate(x, .labels(yp.baseAddress!), gradient: nil, scale: 1)
            // Reference: the definition, in Double, mean over pixels per sample, summed over samples.
            var ref = 0.0
            for n in 0..<shape[0] { for p in 0..<s {
                let logits = (0..<shape[1]).map { Double(x[(n * shape[1] + $0) * s + p]) }
                let lse = log(logits.map { exp($0) }.reduce(0, +))
                ref += (lse - logits[Int(y[n * s + p])]) / Double(s)
            } }
            #expect(abs(value - ref) < 1e-5 * max(1, abs(ref)))
            let err = worstGradientError(loss, x, .labels(yp.baseAddress!), scale: 1 / Float(shape[0]))
            #expect(err < 1e-3, "worst gradient error \(err)")
            try #require(err < 1e-3)
        }
    }

    @Test("Softmax cross-entropy is stable for huge logits") func crossEntropyStable() {
        let x = Tensor(shape: [1, 3], values: [1000, -1000, 999])
        var y: [Int32] = [2]
        let g = Tensor(shape: [1, 3])
        let v = SoftmaxCrossEntropy().evaluate(x, .labels(&y), gradient: g, scale: 1)
        #expect(abs(v - (log(1 + exp(-1.0)) + 1)) < 1e-5)
        #expect(g.values.allSatisfy { $0.isFinite })
    }

    @Test("Weighted per-pixel cross-entropy") func weightedCrossEntropy() {
        let x = spacedTensor([2, 3, 2, 2], gap: 0.3)
        let y = labels(8, classes: 3)
        let weights: [Float] = [0.2, 1, 3]
        y.withUnsafeBufferPointer { yp in
            let loss = SoftmaxCrossEntropy(classWeights: weights)
            let plain = SoftmaxCrossEntropy()
            // Each pixel's term is scaled by its class weight: compare against per-pixel unweighted terms.
            var ref = 0.0
            for n in 0..<2 { for p in 0..<4 {
                let one = Tensor(shape: [1, 3], values: (0..<3).map { x[(n * 3 + $0) * 4 + p] })
                var label = yp[n * 4 + p]
                ref += Double(weights[Int(label)]) * plain.evaluate(one, .labels(&label), gradient: nil, scale: 1) / 4
            } }
            #expect(abs(loss.evaluate(x, .labels(yp.baseAddress!), gradient: nil, scale: 1) - ref) < 1e-5)
            let err = worstGradientError(loss, x, .labels(yp.baseAddress!), scale: 0.5)
            #expect(err < 1e-3, "worst gradient error \(err)")
        }
    }

    @Test("Multi-class hinge (PyTorch MultiMarginLoss)") func hinge() {
        let x = spacedTensor([4, 5])
        let y = labels(4, classes: 5)
        y.withUnsafeBufferPointer { yp in
            let loss = MultiClassHinge()
            var ref = 0.0
            for n in 0..<4 {
                let l = Int(y[n])
                for j in 0..<5 where j != l { ref += max(0, 1 - Double(x[n * 5 + l]) + Double(x[n * 5 + j])) / 5 }
            }
            #expect(abs(loss.evaluate(x, .labels(yp.baseAddress!), gradient: nil, scale: 1) - ref) < 1e-5)
            // h = 5e-3 keeps x ± h on one side of every kink (entries are 0.07 apart, margin terms ≥ 0.02 from 0).
            let err = worstGradientError(loss, x, .labels(yp.baseAddress!), scale: 0.25, h: 5e-3)
            #expect(err < 1e-3, "worst gradient error \(err)")
        }
    }

    @Test("MSE, L1 and BCE with logits against dense targets and one-hot labels",
          arguments: ["mse", "l1", "bce"])
    func elementwise(kind: String) {
        let loss: Loss = kind == "mse" ? MeanSquaredError() as Loss : kind == "l1" ? MeanAbsoluteError() as Loss : BinaryCrossEntropyWithLogits() as Loss
        func reference(_ x: Float, _ t: Float) -> Double {
            let (a, b) = (Double(x), Double(t))
            switch kind {
            case "mse": return (a - b) * (a - b)
            case "l1": return abs(a - b)
            default: return -(b * log(1 / (1 + exp(-a))) + (1 - b) * log(1 - 1 / (1 + exp(-a))))
            }
        }
        let x = spacedTensor([3, 4])
        let t = spacedTensor([3, 4], gap: 0.05)
        for i in 0..<t.count { t[i] = kind == "bce" ? (t[i] + 1) / 2 : t[i] + 0.031 }   // BCE targets in [0, 1]
        let ref = (0..<12).map { reference(x[$0], t[$0]) }.reduce(0, +) / 4   // mean over 4 elements per sample
        #expect(abs(loss.evaluate(x, .values(t.data), gradient: nil, scale: 1) - ref) < 1e-5)
        let err = worstGradientError(loss, x, .values(t.data), scale: 1 / 3, h: 5e-3)
        #expect(err < 1e-3, "\(kind): worst gradient error \(err)")

        // With labels the target is the one-hot vector (Belkin et al.'s squared loss regresses one-hot codes).
        let y = labels(3, classes: 4)
        let onehot = Tensor(shape: [3, 4])
        for n in 0..<3 { onehot[n * 4 + Int(y[n])] = 1 }
        y.withUnsafeBufferPointer { yp in
            let a = loss.evaluate(x, .labels(yp.baseAddress!), gradient: nil, scale: 1)
            let b = loss.evaluate(x, .values(onehot.data), gradient: nil, scale: 1)
            #expect(abs(a - b) < 1e-9)
        }
    }

    @Test("Mean = sum/N: the gradient scale is the only difference") func reductions() {
        let x = spacedTensor([8, 3], gap: 0.2)
        let y = labels(8, classes: 3)
        y.withUnsafeBufferPointer { yp in
            let g1 = Tensor(shape: [8, 3]), g8 = Tensor(shape: [8, 3])
            let sum = SoftmaxCrossEntropy().evaluate(x, .labels(yp.baseAddress!), gradient: g1, scale: 1)
            _ = SoftmaxCrossEntropy().evaluate(x, .labels(yp.baseAddress!), gradient: g8, scale: 1.0 / 8)
            // Splitting the batch into two halves (two ranks) and adding the sums gives the same total.
            let a = Tensor(shape: [4, 3], values: Array(x.values[0..<12])), b = Tensor(shape: [4, 3], values: Array(x.values[12..<24]))
            let halves = SoftmaxCrossEntropy().evaluate(a, .labels(yp.baseAddress!), gradient: nil, scale: 1)
                + SoftmaxCrossEntropy().evaluate(b, .labels(yp.baseAddress! + 4), gradient: nil, scale: 1)
            #expect(abs(sum - halves) < 1e-9)
            for i in 0..<24 { #expect(abs(g1[i] / 8 - g8[i]) < 1e-7) }
        }
    }

    @Test("countCorrect: arg-max with ties to the lowest class") func correct() {
        let x = Tensor(shape: [3, 3], values: [0, 2, 1, 5, 5, 0, -1, -2, -3])
        let y: [Int32] = [1, 0, 2]
        #expect(y.withUnsafeBufferPointer { countCorrect(x, labels: $0.baseAddress!) } == 2)
    }
}
