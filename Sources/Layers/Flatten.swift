// Flatten.swift — [C, H, W] (or any shape) → [C·H·W]. The storage order is already the flat order: in a model
// the output is a view of the input (GraphBuilder) and nothing is copied; on its own, the passes copy.
import Tensor

public final class Flatten: Layer {
    public var name = "flatten"
    public init() {}
    public var summary: String { "Flatten" }
    public var reshapesOnly: Bool { true }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        return [shapes[0].product]
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        if y.data != x[0].data { y.data.update(from: x[0].data, count: y.count) }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        if let dx0 = dx[0], dx0.data != dy.data { dx0.data.update(from: dy.data, count: dy.count) }
    }
}
