// Sampler.swift — which samples each step trains on. The global order of an epoch is a pure function of
// (seed, epoch); global batch k is slice k of it; rank r of P takes the contiguous part
// [⌊r·b/P⌋, ⌊(r+1)·b/P⌋) of each global batch of b samples. Every rank computes the same number of steps; the
// last, smaller batch of an epoch is kept and split the same way.
import Tensor

public struct EpochPlan: Sendable {
    public let epoch: Int
    public let sampleCount: Int
    public let batchSize: Int
    /// The permutation of 0..<sampleCount for this epoch.
    public let order: [Int]

    public init(sampleCount: Int, batchSize: Int, seed: UInt64, epoch: Int) {
        self.epoch = epoch
        self.sampleCount = sampleCount
        self.batchSize = batchSize
        order = RandomStream(seed: seed, name: "data/order", index: UInt64(epoch)).permutation(sampleCount)
    }

    /// Steps per epoch: ⌈N / B⌉.
    public static func steps(sampleCount: Int, batchSize: Int) -> Int {
        sampleCount / batchSize + (sampleCount % batchSize == 0 ? 0 : 1)   // (n + b − 1) / b overflows for a huge b
    }
    public var steps: Int { EpochPlan.steps(sampleCount: sampleCount, batchSize: batchSize) }

    /// The global batch of `step`: its range in `order`.
    public func globalBatch(_ step: Int) -> Range<Int> {
        step * batchSize..<min((step + 1) * batchSize, sampleCount)
    }

    /// Rank `rank`'s part of the global batch of `step`: a range in `order`, and its offset within the batch.
    public func shard(_ step: Int, rank: Int, of ranks: Int) -> (range: Range<Int>, offset: Int) {
        let g = globalBatch(step)
        let part = EpochPlan.contiguousShare(g.count, rank: rank, of: ranks)
        return (g.lowerBound + part.lowerBound..<g.lowerBound + part.upperBound, part.lowerBound)
    }

    /// Rank `rank`'s contiguous part [⌊r·n/P⌋, ⌊(r+1)·n/P⌋) of n items (may be empty when n < P).
    public static func contiguousShare(_ n: Int, rank: Int, of ranks: Int) -> Range<Int> {
        rank * n / ranks..<(rank + 1) * n / ranks
    }
}
