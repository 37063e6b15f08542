// GradientSync.swift — how the ranks of a data-parallel run turn their local gradients into one SGD update
// (DESIGN §3). Three strategies over the one flat gradient buffer:
//   shared     the ranks of a node keep their gradients and one copy of the parameters in shared memory
//              (SharedWindow). After a fence, local rank l sums slice l of every local rank's gradient (in
//              place, no message), sums that slice across nodes with one allreduce among the ranks of local
//              index l, and updates slice l of the parameters and its momentum; a second fence publishes the
//              parameters to the node. No copy of the gradient or the parameters is ever sent within a node.
//              The large Dense layers are split by output units across the node (NodeSplitDense): each rank
//              computes the units whose weights it updates, forward and weight gradient, over the node's whole
//              batch, so their gradients are not summed at all.
//              Across nodes the sum is done in buckets of layers as backward finishes them (gradientsFinal):
//              each bucket's allreduce runs while backward computes the layers before it.
//   sharded    reduce-scatter the gradients; rank r updates its contiguous slice r of the parameters and of the
//              momentum (ZeRO stage 1: optimiser memory and update work fall as 1/P); allgather the parameters.
//   allreduce  sum the whole gradient on every rank; every rank updates every parameter.
// Every rank ends the step with bitwise identical parameters: each parameter is updated by exactly one formula
// on identical inputs (sharded: by one rank, then copied; shared: by one rank per node, read in place).
import Distributed
import Layers
import Optim
import Tensor

public final class GradientSync {
    public enum Strategy: String, Sendable, CaseIterable {
        case shared, sharded, allreduce
        /// The fastest at every size measured (bench/results/reduction.md): `shared` whenever ranks share a node.
        public static func automatic(parameters: Int, ranks: Int) -> Strategy {
            ranks > 1 ? .shared : .allreduce
        }
    }

    public let communicator: Communicator
    /// The strategy in use: `shared` falls back to `sharded` when nodes hold different numbers of ranks.
    public let strategy: Strategy
    /// The ranks that share slices: all of them (sharded, allreduce) or this node's (shared).
    private let group: Communicator
    /// shared: the ranks of other nodes with this rank's local index (nil on one node).
    private let acrossNodes: Communicator?
    private let window: SharedWindow?
    /// shared: where this rank's slice starts in every local rank's gradient (fixed, so the step allocates nothing).
    private let gradientSlices: [UnsafePointer<Float>]
    /// Slice i of the flat vector: counts[i] elements from offsets[i], for the ranks of `group`.
    public let counts: [Int32], offsets: [Int32]
    /// The momentum of the parameters this rank updates: its slice (sharded, shared) or all of them (allreduce).
    public let momentum: FlatVector
    private let reducedSlice: FlatVector
    private let parameterCount: Int
    /// Gradient sums are formed in chunks this long (fits L1), then applied: the sum is never written back.
    private static let chunk = 2048
    private let chunkSum = FlatVector(count: GradientSync.chunk)
    /// Seconds spent in this rank's fences waiting for the other ranks of its node (shared), in the step and in
    /// the node's Dense forwards.
    public var fenceSeconds: Double { stepFenceSeconds + (nodeSplit?.fenceSeconds ?? 0) }
    private var stepFenceSeconds = 0.0
    /// shared: the Dense layers split by units across the node (set by `adopt`), and this rank's slice cut at
    /// their parameters.
    private var nodeSplit: NodeSplitDense?
    private var pieces: [NodeSplitDense.Piece] = []
    /// Seconds spent computing those gradients: backward's work, done inside `step`.
    public private(set) var nodeGradientSeconds = 0.0
    /// Seconds those layers' forwards spent exchanging data between the ranks (their fences included):
    /// communication, done inside the forward.
    public var nodeExchangeSeconds: Double { nodeSplit?.exchangeSeconds ?? 0 }
    /// shared across nodes: the flat vector cut at layer boundaries into buckets of at least `bucketFloats`, in
    /// the order backward completes them (last layers first). Each bucket's slice of this rank is summed over the
    /// node and its allreduce across nodes started as soon as backward has finished the bucket
    /// (`gradientsFinal`), so the communication runs while backward computes the layers before it.
    private let buckets: [Range<Int>]
    private var nextBucket = 0
    private let pending: PendingReductions?
    /// The default bucket size: 2^18 floats (1 MiB).
    public static let defaultBucketFloats = 1 << 18

    /// Collective over `communicator`. `ranksPerNode` groups consecutive ranks as if each group were a node
    /// (tests of the multi-node path on one machine); by default the real nodes are used.
    /// `layerStarts`: where each layer's parameters begin in the flat vector (the bucket boundaries; none: one
    /// bucket).
    public init(communicator: Communicator, strategy requested: Strategy, parameterCount: Int, needsMomentum: Bool,
                ranksPerNode: Int? = nil, layerStarts: [Int] = [], bucketFloats: Int = GradientSync.defaultBucketFloats) {
        self.communicator = communicator; self.parameterCount = parameterCount
        var strategy = requested
        var group = communicator, acrossNodes: Communicator? = nil
        if strategy == .shared {
            let node = ranksPerNode.map { communicator.split(color: communicator.rank / $0, key: communicator.rank) }
                ?? communicator.node()
            if communicator.agree(node.size, .min) == communicator.agree(node.size, .max) {
                group = node
                let across = communicator.split(color: node.rank, key: communicator.rank)
                acrossNodes = across.size > 1 ? across : nil
            } else {
                strategy = .sharded
            }
        }
        self.strategy = strategy; self.group = group; self.acrossNodes = acrossNodes
        (counts, offsets) = GradientSync.slices(parameterCount, ranks: group.size)
        let mine = strategy == .allreduce ? parameterCount : Int(counts[group.rank])
        momentum = FlatVector(count: needsMomentum ? mine : 0)
        reducedSlice = FlatVector(count: strategy == .sharded || acrossNodes != nil ? mine : 0)
        // shared: every local rank's gradient, then (in local rank 0's segment) the node's parameters.
        window = strategy == .shared
            ? SharedWindow(communicator: group, floats: GradientSync.padded(parameterCount) + (group.rank == 0 ? parameterCount : 0))
            : nil
        let start = Int(offsets[group.rank])
        gradientSlices = window.map { w in (0..<group.size).map { UnsafePointer(w.segment($0)) + start } } ?? []
        let buckets = acrossNodes == nil ? [] : GradientSync.bucketRanges(parameterCount, layerStarts: layerStarts, minimum: bucketFloats)
        self.buckets = buckets
        pending = acrossNodes.map { PendingReductions(communicator: $0, capacity: buckets.count) }
    }

    /// [lo, hi) ranges covering 0..<count, cut only at layer starts, each at least `minimum` long (but the first),
    /// from the end of the vector to its start.
    static func bucketRanges(_ count: Int, layerStarts: [Int], minimum: Int) -> [Range<Int>] {
        var out: [Range<Int>] = [], hi = count
        for lo in Set(layerStarts + [0]).filter({ $0 < count }).sorted(by: >) where lo == 0 || hi - lo >= minimum {
            out.append(lo..<hi); hi = lo
        }
        return out
    }

    /// shared across nodes: the model's backward has finished every gradient from `offset` to the end. Buckets now
    /// complete are reduced over the node and their allreduce across nodes started; earlier ones are moved along.
    /// Every rank of the node reaches the same buckets in the same order (the same model), so their fences match.
    public func gradientsFinal(from offset: Int) {
        guard let pending else { return }
        while nextBucket < buckets.count && buckets[nextBucket].lowerBound >= offset {
            reduceBucket(nextBucket)
            nextBucket += 1
        }
        pending.poll()
    }

    /// Sums this rank's part of bucket b over the ranks of the node into `reducedSlice` and starts its allreduce
    /// across nodes.
    private func reduceBucket(_ b: Int) {
        nodeSplit?.zeroUnrecorded(in: buckets[b])
        let t0 = monotonicSeconds()
        window!.fence()   // every local gradient (or x and dy) of the bucket is written
        stepFenceSeconds += monotonicSeconds() - t0
        let slice = sliceRange
        let part = buckets[b].clamped(to: slice)
        guard !part.isEmpty else { return }
        let own = UnsafePointer(window!.segment(group.rank))
        for piece in pieces where piece.range.overlaps(part) {
            let r = piece.range.clamped(to: part), out = reducedSlice.data + (r.lowerBound - slice.lowerBound)
            if let layer = piece.layer {
                computeNodeGradients(layer, r)
                out.update(from: own + r.lowerBound, count: r.count)
            } else {
                sumInto(out, gradientSlices, from: r.lowerBound - slice.lowerBound, count: r.count)
            }
        }
        pending!.start(reducedSlice.data + (part.lowerBound - slice.lowerBound), count: part.count)
    }

    private func computeNodeGradients(_ layer: NodeSplitDense.SplitLayer, _ range: Range<Int>) {
        let t0 = monotonicSeconds()
        layer.computeGradients(range)
        nodeGradientSeconds += monotonicSeconds() - t0
    }

    /// True when `gradientsFinal` overlaps the reduction with backward (shared, several nodes).
    public var overlapsBackward: Bool { pending != nil }
    /// How the reduction overlaps backward, for the debug log.
    public var overlapDescription: String {
        overlapsBackward ? "allreduce across nodes in \(buckets.count) bucket(s), overlapped with backward" : "not overlapped (one node)"
    }

    private static func padded(_ count: Int) -> Int { (count + 15) / 16 * 16 }

    /// shared: the node's window as flat vectors — the node's one copy of the parameters and this rank's
    /// gradient, which `step` expects to find there. Nil for the other strategies.
    public var sharedBuffers: (parameters: FlatVector, gradients: FlatVector)? {
        window.map {
            (FlatVector(borrowing: $0.segment(0) + GradientSync.padded(parameterCount), count: parameterCount),
             FlatVector(borrowing: $0.segment(group.rank), count: parameterCount))
        }
    }

    /// shared: moves the model's parameters (node rank 0's values; every rank initialised the same ones) and
    /// gradients into the node's window, and, given the training batch's largest share of one rank, splits the
    /// model's large Dense layers by units across the node (NodeSplitDense). The other strategies leave the model
    /// where it is. Collective.
    public func adopt(_ model: Model, batchShare: Int? = nil) {
        guard let window, let (parameters, gradients) = sharedBuffers else { return }
        precondition(model.parameterCount == parameterCount)
        model.relocate(parameters: parameters, gradients: gradients, copyParameters: group.rank == 0)
        if let batchShare {
            nodeSplit = NodeSplitDense(model: model, node: group, batchShare: batchShare, slice: sliceRange,
                                       parameterWindow: window)
        }
        pieces = nodeSplit?.pieces(of: sliceRange) ?? [NodeSplitDense.Piece(range: sliceRange, layer: nil)]
        window.fence()
    }

    /// The Dense layers split by units across the node, for the start-up table and debug log.
    public var nodeSplitLayers: [String] { nodeSplit?.layers.map(\.dense.name) ?? [] }

    /// Sets the parameters on every rank (a checkpoint's): with `shared`, node rank 0 writes the node's one copy.
    /// Collective.
    public func setParameters(_ model: Model, _ values: [Float]) {
        if window == nil || group.rank == 0 { model.parameters.assign(values) }
        window?.fence()
    }

    /// Makes every rank's last update visible to every rank of the node, if the step left that to the next
    /// forward (NodeSplitDense.forwardPublishes). Collective: call it on every rank before anything but a
    /// training step reads parameters another rank updates (evaluation, --check-sync, checkpoints, the model file).
    public func publish() {
        guard let nodeSplit, nodeSplit.publicationOwed else { return }
        let t0 = monotonicSeconds()
        window!.fence()
        stepFenceSeconds += monotonicSeconds() - t0
        nodeSplit.publicationOwed = false
    }

    /// Collective: frees the shared windows (the model's parameters and gradients with them). Call once, after
    /// the model's last use.
    public func release() {
        nodeSplit?.release()
        window?.free()
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
        strategy == .allreduce ? 0..<parameterCount : sliceRange
    }

    /// This rank's slice among the ranks of its group (allreduce: a share of the checkpoint to write).
    private var sliceRange: Range<Int> {
        let lo = Int(offsets[group.rank])
        return lo..<lo + Int(counts[group.rank])
    }

    /// The slice of the flat vectors this rank writes into a checkpoint: the slices of all ranks together cover
    /// the vector exactly once (shared, several nodes: only the first node's ranks write).
    public var checkpointRange: Range<Int> {
        switch strategy {
        case .allreduce, .sharded: sliceRange
        case .shared: (acrossNodes?.rank ?? 0) == 0 ? sliceRange : sliceRange.lowerBound..<sliceRange.lowerBound
        }
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
        case .shared:
            precondition(gradients == window!.segment(group.rank), "shared: the gradients must live in the window (sharedBuffers)")
            sharedStep(parameters: parameters, sgd: sgd, lr: lr, firstStep: firstStep)
        }
    }

    private func sharedStep(parameters: UnsafeMutablePointer<Float>, sgd: SGD, lr: Float, firstStep: Bool) {
        let window = window!
        let slice = sliceRange
        let sources = gradientSlices
        let momentumBuffer = sgd.hasState ? momentum.data : nil
        if let pending {
            // The buckets backward did not hand over (all of them when nothing called gradientsFinal; each has its
            // own fence), then the wait for every allreduce across nodes.
            while nextBucket < buckets.count { reduceBucket(nextBucket); nextBucket += 1 }
            nextBucket = 0
            pending.waitAll()
            sgd.update(parameters: parameters + slice.lowerBound, gradients: reducedSlice.data,
                       momentumBuffer: momentumBuffer, count: slice.count, lr: lr, firstStep: firstStep)
        } else {
            nodeSplit?.zeroUnrecorded(in: 0..<parameterCount)
            let t0 = monotonicSeconds()
            window.fence()   // every local gradient (or x and dy) of this step is written; nobody reads the parameters any more
            stepFenceSeconds += monotonicSeconds() - t0
            let own = window.segment(group.rank)
            for piece in pieces {
                let at = piece.range.lowerBound - slice.lowerBound   // in the slice (and the momentum)
                if let layer = piece.layer {
                    // The node's gradient of this piece, in this rank's buffer: applied from there.
                    computeNodeGradients(layer, piece.range)
                    sgd.update(parameters: parameters + piece.range.lowerBound, gradients: own + piece.range.lowerBound,
                               momentumBuffer: momentumBuffer.map { $0 + at }, count: piece.range.count, lr: lr,
                               firstStep: firstStep)
                    continue
                }
                // One pass: each chunk's sum is formed in L1 and applied at once.
                var start = at
                while start < at + piece.range.count {
                    let n = min(GradientSync.chunk, at + piece.range.count - start)
                    sumInto(chunkSum.data, sources, from: start, count: n)
                    sgd.update(parameters: parameters + slice.lowerBound + start, gradients: chunkSum.data,
                               momentumBuffer: momentumBuffer.map { $0 + start }, count: n, lr: lr, firstStep: firstStep)
                    start += n
                }
            }
        }
        nodeSplit?.endStep()
        if let nodeSplit, nodeSplit.forwardPublishes {
            nodeSplit.publicationOwed = true   // the next forward's first fence publishes the new parameters
            return
        }
        let t0 = monotonicSeconds()
        window.fence()   // the new parameters are visible to the whole node
        stepFenceSeconds += monotonicSeconds() - t0
    }

    /// out[i] = Σ over local ranks (in rank order) of sources[rank][from + i].
    private func sumInto(_ out: UnsafeMutablePointer<Float>, _ sources: [UnsafePointer<Float>], from: Int, count: Int) {
        if sources.count == 1 { out.update(from: sources[0] + from, count: count); return }
        Kernels.sum(count, sources[0] + from, sources[1] + from, into: out)
        for more in sources.dropFirst(2) { Kernels.add(count, more + from, into: out) }
    }

    /// The whole momentum vector on every rank (for saving a model file from one rank).
    public func gatheredMomentum() -> [Float] {
        guard strategy != .allreduce, momentum.count > 0 else { return momentum.values }
        let full = FlatVector(count: parameterCount)
        (full.data + sliceRange.lowerBound).update(from: momentum.data, count: sliceRange.count)
        group.allgather(full.data, counts: counts, offsets: offsets)
        return full.values
    }

    /// Averages non-trainable state (BatchNorm running statistics, computed per rank from its samples) so that
    /// every rank evaluates and saves the same model. Only ranks that `contribute` count (those that trained on
    /// samples since the last average: a rank left without samples by a batch smaller than the rank count holds
    /// stale statistics); when none does, the state is left as it is.
    public func averageState(_ model: Model, contributes: Bool = true) {
        guard communicator.size > 1, model.state.count > 0 else { return }
        let contributors = communicator.agree(contributes ? 1 : 0, .sum)
        guard contributors > 0 else { return }
        if !contributes { model.state.fill(0) }
        communicator.allreduce(model.state.data, count: model.state.count)
        let scale = 1 / Float(contributors)
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
