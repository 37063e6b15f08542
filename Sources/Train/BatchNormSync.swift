// BatchNormSync.swift — synchronised BatchNorm (run.sync_batchnorm): every BatchNorm layer's per-channel sums
// are added over the ranks of the run in each training step, so that all ranks normalise with the statistics of
// the whole global batch and P ranks train what one rank would.
import Distributed
import Layers

final class BatchNormSync: StatisticsSynchronizer {
    let communicator: Communicator
    init(_ communicator: Communicator) { self.communicator = communicator }

    func sum(_ values: UnsafeMutablePointer<Double>, count: Int) { communicator.allreduce(values, count: count) }

    /// Installs one synchroniser over `communicator` in every BatchNorm layer of `model` (none on one rank:
    /// there is nothing to add).
    static func install(in model: Model, over communicator: Communicator) {
        guard communicator.size > 1 else { return }
        let sync = BatchNormSync(communicator)
        for layer in model.batchNorms { layer.synchronizer = sync }
    }
}
