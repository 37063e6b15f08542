// GradientSync.swift — how the ranks of a data-parallel run turn their local gradients into one SGD update
// (DESIGN §3). Two strategies over the one flat gradient buffer:
//   sharded    reduce-scatter the gradients; rank r updates its contiguous slice r of the parameters and of the
//              momentum (ZeRO stage 1: optimiser memory and update work fall as 1/P); allgather the parameters.
//   allreduce  sum the whole gradient on every rank; every rank updates every parameter (one collective, which
//              wins for tiny models where the collectives' fixed latency dominates).
// Either way every rank ends the step with bitwise identical parameters: each parameter is updated by exactly
// one formula on identical inputs (sharded: by one rank, then copied).
import Distributed
import Layers
import Optim
import Tensor

public final class GradientSync {
    public enum Strategy: String, Sendable, CaseIterable {
        case sharded, allreduce
        /// Below this many parameters one allreduce beats reduce-scatter + allgather on shared memory; above,
        /// the two take about the same time on one node and sharding saves memory (bench/results/reduction.md).
        public static let allreduceBelow = 32_768
        public static func automatic(parameters: Int, ranks: Int) -> Strategy {
            ranks > 1 && parameters >= allreduceBelow ? .sharded : .allreduce
        }
    }

    public let communicator: Communicator
    public let strategy: Strategy
    /// Slice r of the flat vector: counts[r] elements from offsets[r].
    public let counts: [Int32], offsets: [Int32]
    /// The momentum of the parameters this rank updates: its slice (sharded) or all of them (allreduce).
    public let momentum: FlatVector
    private let reducedSlice: FlatVector
    private let parameterCount: Int

    public init(communicator: Communicator, strategy: Strategy, parameterCount: Int, needsMomentum: Bool) {
        self.communicator = communicator; self.strategy = strategy; self.parameterCount = parameterCount
        (counts, offsets) = GradientSync.slices(parameterCount, ranks: communicator.size)
        let mine = strategy == .sharded ? Int(counts[communicator.rank]) : parameterCount
        momentum = FlatVector(count: needsMomentum ? mine : 0)
        reducedSlice = FlatVector(count: strategy == .sharded ? mine : 0)
    }

    /// Contiguous, nearly equal slices of `count` elements over `ranks` (the first count % ranks get one more).
    public static func slices(_ count: Int, ranks: Int) -> (counts: [Int32], offsets: [Int32]) {
        var counts = [Int32](), offsets = [Int32]()
        var start = 0
        for r in 0..<ranks {
            let n = count / ranks + (r < count % ranks ? 1 : 0)
            counts.append(Int32(n)); offsets.append(Int32(start))
            start += n
        }
        return (counts, offsets)
    }

    /// The range of the flat vector whose momentum this rank holds.
    public var momentumRange: Range<Int> {
        strategy == .sharded ? Int(offsets[communicator.rank])..<Int(offsets[communicator.rank] + counts[communicator.rank])
                             : 0..<parameterCount
    }

    /// Reduces `model.gradients` over the ranks and applies one SGD step to `model.parameters`.
    public func step(_ model: Model, sgd: SGD, lr: Float, firstStep: Bool) {
        step(parameters: model.parameters.data, gradients: model.gradients.data, sgd: sgd, lr: lr, firstStep: firstStep)
    }

    /// The same on raw flat vectors of `parameterCount` floats.
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, sgd: SGD,
                     lr: Float, firstStep: Bool) {
        let momentumBuffer = sgd.hasState ? momentum.data : nil
        switch strategy {
        case .allreduce:
            communicator.allreduce(gradients, count: parameterCount)
            sgd.update(parameters: parameters, gradients: gradients, momentumBuffer: momentumBuffer,
                       count: parameterCount, lr: lr, firstStep: firstStep)
        case .sharded:
            let r = communicator.rank, offset = Int(offsets[r])
            communicator.reduceScatter(gradients, into: reducedSlice.data, counts: counts)
            sgd.update(parameters: parameters + offset, gradients: reducedSlice.data, momentumBuffer: momentumBuffer,
                       count: Int(counts[r]), lr: lr, firstStep: firstStep)
            communicator.allgather(parameters, counts: counts, offsets: offsets)
        }
    }

    /// The whole momentum vector on every rank (for saving a model file from one rank).
    public func gatheredMomentum() -> [Float] {
        guard strategy == .sharded, momentum.count > 0 else { return momentum.values }
        let full = FlatVector(count: parameterCount)
        let r = communicator.rank
        (full.data + Int(offsets[r])).update(from: momentum.data, count: Int(counts[r]))
        communicator.allgather(full.data, counts: counts, offsets: offsets)
        return full.values
    }

    /// Averages non-trainable state (BatchNorm running statistics, computed per rank from its samples) so that
    /// every rank evaluates and saves the same model.
    public func averageState(_ model: Model) {
        guard communicator.size > 1, model.state.count > 0 else { return }
        communicator.allreduce(model.state.data, count: model.state.count)
        let scale = 1 / Float(communicator.size)
        for i in 0..<model.state.count { model.state.data[i] *= scale }
    }

    /// A 64-bit FNV-1a hash of the parameters' bytes, and whether every rank computed the same one.
    public func parametersAgree(_ model: Model) -> (agree: Bool, hash: UInt64) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let bytes = UnsafeRawPointer(model.parameters.data).assumingMemoryBound(to: UInt32.self)
        for i in 0..<model.parameterCount { h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3 }
        let signed = Int(Int64(bitPattern: h))
        let agree = communicator.agree(signed, .max) == communicator.agree(signed, .min)
        return (agree, h)
    }
}
