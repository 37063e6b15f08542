// Dropout.swift — inverted dropout: in training each element is kept with probability 1 − p and scaled by
// 1/(1 − p); in evaluation it is the identity. The mask is counter-based, keyed by (seed, layer, step, global
// sample index, element), so it is the same whichever rank holds the sample and is never stored across steps.
import Tensor

public final class Dropout: Layer {
    public var name = "dropout" { didSet { nameHash = RandomStream.hash("dropout/" + name) } }
    public let p: Float
    private var nameHash = RandomStream.hash("dropout/dropout")
    private var sampleSize = 0

    public init(_ p: Float) { self.p = p }

    public var summary: String { "Dropout(\(p))" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        guard p >= 0, p < 1 else { throw ShapeProblem("needs 0 ≤ p < 1, got \(p)") }
        sampleSize = shapes[0].product
        return shapes[0]
    }

    /// Writes the mask (0 or 1/(1−p)) multiplied by `x` into `y`: used by forward on activations and by
    /// backward on gradients, which is exactly the same product.
    private func applyMask(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, _ ctx: PassContext) {
        let rng = RandomStream(seed: ctx.seed, stream: nameHash ^ RandomStream.mix(ctx.step))
        let keep = Float(1) / (1 - p)
        // Compare 24-bit words against p·2²⁴: element j of sample s uses word j%4 of counter (s·⌈size/4⌉ + j/4).
        let threshold = UInt32(Double(p) * 16_777_216)
        let blocks = (sampleSize + 3) / 4
        for s in 0..<batch {
            let base = UInt64(ctx.sampleOffset + s) * UInt64(blocks)
            let xs = x + s * sampleSize, ys = y + s * sampleSize
            var j = 0
            for b in 0..<blocks {
                let w = rng.words(base + UInt64(b))
                for k in 0..<min(4, sampleSize - j) {
                    let word = k == 0 ? w.0 : k == 1 ? w.1 : k == 2 ? w.2 : w.3
                    let kept = xs[j] * keep   // read unconditionally: a select, not a branch that mispredicts
                    ys[j] = (word >> 8) >= threshold ? kept : 0
                    j += 1
                }
            }
        }
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        if context.training && p > 0 {
            applyMask(x[0].data, y.data, batch: x[0].batch, context)
        } else {
            y.data.update(from: x[0].data, count: y.count)
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        guard let dx0 = dx[0] else { return }
        if context.training && p > 0 {
            applyMask(dy.data, dx0.data, batch: dy.batch, context)
        } else {
            dx0.data.update(from: dy.data, count: dy.count)
        }
    }
}
