// BatchNormSync.swift — synchronised BatchNorm (run.sync_batchnorm): every BatchNorm layer's per-channel sums
// are added over the ranks of the run in each training step, so that all ranks normalise with the statistics of
// the whole global batch and P ranks train what one rank would.
import Distributed
import Layers

final class BatchNormSync: StatisticsSynchronizer {
    let communicator: Communicator
    init(_ communicator: Communicator) { self.communicator = communicator }

    func sum(_ values: UnsafeMutablePointer<Double>, count: Int) { communicator.allreduce(values, count: count) }

    /// Installs one synchroniser over `communicator` in every BatchNorm layer of `model`; false when the model
    /// has none (or there is one rank: nothing to add).
    @discardableResult
    static func install(in model: Model, over communicator: Communicator) -> Bool {
        let layers = model.batchNorms
        guard communicator.size > 1, !layers.isEmpty else { return false }
        let sync = BatchNormSync(communicator)
        for layer in layers { layer.synchronizer = sync }
        return true
    }
}
