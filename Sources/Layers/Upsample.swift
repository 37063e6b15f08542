// Upsample.swift — nearest-neighbour upsampling ×2: [C, H, W] → [C, 2H, 2W]. The backward sums each 2×2 block.
import Tensor

public final class Upsample: Layer {
    public var name = "upsample"
    private var planes = 0, h = 0, w = 0
    public init() {}
    public var summary: String { "Upsample(×2, nearest)" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        guard shapes[0].count == 3 else { throw ShapeProblem("expects an image input [channels, height, width], got \(show(shapes[0]))") }
        (planes, h, w) = (shapes[0][0], shapes[0][1], shapes[0][2])
        return [planes, 2 * h, 2 * w]
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        for p in 0..<x[0].batch * planes {
            let src = x[0].data + p * h * w, dst = y.data + p * 4 * h * w
            for iy in 0..<h {
                let row = dst + 2 * iy * 2 * w
                for ix in 0..<w { let v = src[iy * w + ix]; row[2 * ix] = v; row[2 * ix + 1] = v }
                (row + 2 * w).update(from: row, count: 2 * w)
            }
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        guard let dx0 = dx[0] else { return }
        for p in 0..<dy.batch * planes {
            let src = dy.data + p * 4 * h * w, dst = dx0.data + p * h * w
            for iy in 0..<h {
                let r0 = src + 2 * iy * 2 * w, r1 = r0 + 2 * w
                for ix in 0..<w { dst[iy * w + ix] = r0[2 * ix] + r0[2 * ix + 1] + r1[2 * ix] + r1[2 * ix + 1] }
            }
        }
    }
}
