// Tensor.swift — an n-dimensional array of Float: a shape over contiguous, 64-byte aligned, row-major storage.
//
// Tensors are reference types that own their storage. Layers allocate their outputs and scratch once, for the
// largest batch they will see, and reuse them every step: the leading (batch) dimension can shrink and grow
// within the capacity without allocating. Parameters are not Tensors: they live in one flat vector (see
// Layers/FlatBuffer.swift) and layers see them through pointers.

public final class Tensor {
    /// The dimensions, outermost first. For activations the first is the batch.
    public private(set) var shape: [Int]
    /// Number of elements in `shape`.
    public private(set) var count: Int
    /// Number of elements the storage can hold.
    public let capacity: Int
    /// The storage. Valid for `capacity` elements for the Tensor's lifetime.
    public let data: UnsafeMutablePointer<Float>
    /// For a view, the tensor that owns the storage (kept alive by the view).
    private let owner: Tensor?

    /// A zero-filled tensor. `capacity` defaults to the size of `shape`.
    public init(shape: [Int], capacity: Int? = nil) {
        let n = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        let cap = max(capacity ?? n, n, 1)
        self.shape = shape
        self.count = n
        self.capacity = cap
        let raw = UnsafeMutableRawPointer.allocate(byteCount: cap * MemoryLayout<Float>.stride, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: cap)
        data.initialize(repeating: 0, count: cap)
        owner = nil
    }

    /// A view of `other`'s storage under another shape (the same number of elements per sample): a reshape
    /// that copies nothing.
    public init(viewing other: Tensor, shape: [Int]) {
        let n = shape.reduce(1, *)
        precondition(n <= other.capacity, "a view of shape \(shape) does not fit a tensor of capacity \(other.capacity)")
        self.shape = shape; count = n; capacity = other.capacity
        data = other.data
        owner = other.owner ?? other
    }

    /// A tensor holding `values`, whose count must match `shape`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { if owner == nil { data.deallocate() } }

    /// Product of all dimensions but the first: the size of one sample.
    public var sampleSize: Int { shape.dropFirst().reduce(1, *) }

    /// The leading dimension (the batch for activations).
    public var batch: Int { shape.first ?? 1 }

    /// Changes the leading dimension in place, keeping the others. No allocation when the batch is unchanged,
    /// which is every step but the last of an epoch.
    public func setBatch(_ n: Int) {
        guard shape[0] != n else { return }
        let perSample = shape.dropFirst().reduce(1, *)
        precondition(n * perSample <= capacity, "batch \(n) exceeds the capacity of a tensor of shape \(shape)")
        shape[0] = n
        count = n * perSample
    }

    /// Reinterprets the storage with another shape of at most `capacity` elements.
    public func reshape(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        precondition(n <= capacity, "shape \(newShape) exceeds capacity \(capacity)")
        shape = newShape
        count = n
    }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// A copy of the elements, for tests and reports; never used in the training step.
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Copies `other`'s elements (counts must match).
    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
