// Layer.swift — what every layer is: shape inference, parameter declarations, and a forward and a backward
// over a whole batch, reusing buffers allocated once for the largest batch.
import Tensor

/// A trainable parameter a layer declares; the model gives it a slice of the flat parameter vector.
public struct ParameterDecl: Sendable {
    public enum Initial: Sendable {
        /// Drawn by the model's weight initialiser (Kaiming, Xavier, ...) with this fan-in and fan-out.
        case weight(fanIn: Int, fanOut: Int)
        case zeros
        case ones
    }
    /// The suffix of the parameter's name: "weight", "bias", "gamma", ...
    public let name: String
    public let shape: [Int]
    public let initial: Initial

    public init(_ name: String, _ shape: [Int], _ initial: Initial) {
        self.name = name; self.shape = shape; self.initial = initial
    }
    public var count: Int { shape.reduce(1, *) }
}

/// A parameter's place in the flat vectors: its values, its gradient (and, in the optimiser, its state) share
/// the same offset.
public struct ParameterSlot {
    public let value: UnsafeMutablePointer<Float>
    public let gradient: UnsafeMutablePointer<Float>
    public let count: Int
    public init(value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        self.value = value; self.gradient = gradient; self.count = count
    }
}

/// Per-pass information a layer may need beyond its inputs.
public struct PassContext: Sendable {
    /// Training (batch statistics, dropout on) or evaluation.
    public var training: Bool
    /// The run's seed: dropout masks are drawn from it.
    public var seed: UInt64
    /// The global step: keys dropout masks so that every step draws a fresh mask.
    public var step: UInt64
    /// Global index, within the global batch, of this rank's first sample: keys per-sample randomness so that
    /// it does not depend on the number of ranks.
    public var sampleOffset: Int

    public init(training: Bool, seed: UInt64 = 0, step: UInt64 = 0, sampleOffset: Int = 0) {
        self.training = training; self.seed = seed; self.step = step; self.sampleOffset = sampleOffset
    }
    public static let evaluation = PassContext(training: false)
}

/// A layer of a model. Shapes given to and returned by `configure` are per sample (no batch dimension); the
/// tensors given to `forward` and `backward` carry the batch as their first dimension.
///
/// Contract: `forward` overwrites `output`. `backward` overwrites every non-nil `inputGradients[i]` with
/// ∂L/∂input i and every parameter gradient slot with ∂L/∂parameter, given `outputGradient` = ∂L/∂output.
/// Nothing in `forward` or `backward` allocates.
public protocol Layer: AnyObject {
    /// The layer's type and settings as a person reads them: "Conv2D(16, 5×5, stride 1, pad 2)".
    var summary: String { get }
    /// The name the model gives it ("conv1"); parameter names are "<name>.<parameter>".
    var name: String { get set }
    /// Validates the input shapes and returns the output shape. Throws `ShapeProblem` describing what is wrong.
    /// True for layers whose output is their input under another shape (Flatten): the graph then makes the
    /// output a view of the input, and the forward and backward copy nothing.
    var reshapesOnly: Bool { get }
    func configure(inputs: [[Int]]) throws -> [Int]
    /// Trainable parameters, known after `configure`.
    var parameterDecls: [ParameterDecl] { get }
    /// Non-trainable state saved with the model (BatchNorm running statistics), known after `configure`.
    var stateDecls: [ParameterDecl] { get }
    /// Receives the slices of the flat vectors, in the order of the declarations.
    func bind(parameters: [ParameterSlot], state: [UnsafeMutablePointer<Float>])
    /// Allocates scratch for batches up to `maxBatch`.
    func allocate(maxBatch: Int)
    func forward(_ inputs: [Tensor], into output: Tensor, _ context: PassContext)
    func backward(_ inputs: [Tensor], output: Tensor, outputGradient: Tensor,
                  inputGradients: [Tensor?], _ context: PassContext)
}

extension Layer {
    public var parameterDecls: [ParameterDecl] { [] }
    public var reshapesOnly: Bool { false }
    public var stateDecls: [ParameterDecl] { [] }
    public func bind(parameters: [ParameterSlot], state: [UnsafeMutablePointer<Float>]) {}
    public func allocate(maxBatch: Int) {}
}

/// What a layer finds wrong with its inputs; the builder adds the layer's name and the shapes.
public struct ShapeProblem: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An error in a model's definition, found when the model is built.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Formats a per-sample shape as "[6, 28, 28]".
func show(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

/// Formats the shapes of several inputs.
func show(_ shapes: [[Int]]) -> String { shapes.count == 1 ? show(shapes[0]) : shapes.map(show).joined(separator: " and ") }

extension Array where Element == Int {
    var product: Int { reduce(1, *) }
}
