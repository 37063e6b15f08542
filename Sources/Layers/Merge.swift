// Merge.swift — layers that join branches of the graph: residual Add and channel Concat (U-Net skips).
import Tensor

/// Elementwise sum of two or more inputs of the same shape.
public final class Add: Layer {
    public var name = "add"
    public init() {}
    public var summary: String { "Add" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count >= 2 else { throw ShapeProblem("adds two or more inputs, got \(shapes.count)") }
        guard shapes.allSatisfy({ $0 == shapes[0] }) else { throw ShapeProblem("needs inputs of one shape, got \(show(shapes))") }
        return shapes[0]
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        Kernels.sum(y.count, x[0].data, x[1].data, into: y.data)
        for t in x.dropFirst(2) { Kernels.add(y.count, t.data, into: y.data) }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        for case let d? in dx { d.data.update(from: dy.data, count: dy.count) }
    }
}

/// Concatenation along the channel axis: [C₁, H, W] ⊕ [C₂, H, W] → [C₁ + C₂, H, W] (or features for flat inputs).
public final class Concat: Layer {
    public var name = "concat"
    private var sizes: [Int] = []   // per-sample element count of each input
    public init() {}
    public var summary: String { "Concat" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count >= 2 else { throw ShapeProblem("joins two or more inputs, got \(shapes.count)") }
        let rest = shapes[0].dropFirst()
        guard !shapes[0].isEmpty, shapes.allSatisfy({ $0.count == shapes[0].count && $0.dropFirst() == rest }) else {
            throw ShapeProblem("needs inputs that differ only in channels, got \(show(shapes))")
        }
        sizes = shapes.map { $0.product }
        return [shapes.map { $0[0] }.reduce(0, +)] + rest
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        let total = sizes.reduce(0, +)
        for s in 0..<x[0].batch {
            var at = y.data + s * total
            for (t, size) in zip(x, sizes) {
                at.update(from: t.data + s * size, count: size)
                at += size
            }
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        let total = sizes.reduce(0, +)
        for s in 0..<dy.batch {
            var at = dy.data + s * total
            for (d, size) in zip(dx, sizes) {
                d?.data.advanced(by: s * size).update(from: at, count: size)
                at += size
            }
        }
    }
}
