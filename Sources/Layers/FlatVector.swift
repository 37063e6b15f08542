// FlatVector.swift — one contiguous, aligned Float buffer: the model's parameters, their gradients, the
// optimiser state. Layers see slices of it through pointers; collectives and checkpoints see it whole.

public final class FlatVector {
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// Whether `data` was allocated here (false: memory someone else owns, such as a shared-memory window).
    private let owned: Bool

    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
        owned = true
    }

    /// A view of `count` Floats at `data`, which must outlive it.
    public init(borrowing data: UnsafeMutablePointer<Float>, count: Int) {
        self.count = count; self.data = data; owned = false
    }

    deinit { if owned { data.deallocate() } }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var values: [Float] { Array(buffer) }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
    public func fill(_ v: Float) { data.update(repeating: v, count: count) }
    public func copy(from other: FlatVector) {
        precondition(other.count == count)
        data.update(from: other.data, count: count)
    }
    public func assign(_ values: [Float]) {
        precondition(values.count == count)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }
}

/// One named tensor's place in a flat vector: the layout table stored with the model and its checkpoints.
public struct LayoutEntry: Equatable, Sendable, Codable {
    public let name: String
    public let offset: Int
    public let shape: [Int]
    public var count: Int { shape.reduce(1, *) }
    public init(name: String, offset: Int, shape: [Int]) {
        self.name = name; self.offset = offset; self.shape = shape
    }
}
