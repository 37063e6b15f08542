// ModelFile.swift — a trained model read back from a checkpoint or a run's final.h5: the model rebuilt from the
// job stored in the file, its parameters and statistics loaded, and the input normalisation it was trained with.
import Job
import Layers
import HDF5

public struct SavedModel {
    public let contents: CheckpointContents
    public let job: Job
    public let model: Model
}

public enum ModelFile {
    /// Loads `path` and rebuilds its model for batches up to `maxBatch`; `input` rebuilds a fully convolutional
    /// model for another input size than it was trained on (the parameters do not depend on it).
    public static func load(_ path: String, maxBatch: Int = 256, input: [Int]? = nil) throws -> SavedModel {
        let c = try CheckpointFile.read(path)
        let job = try Job(text: c.job, source: "\(path) (stored job)")
        let spec = try job.modelSpec()
        let model: Model
        do {
            model = try spec.build(input: input ?? c.inputShape, classes: c.classes, maxBatch: maxBatch)
        } catch where input != nil {
            throw HDF5Error(path, "its model (\(spec.canonical)) cannot take inputs of \(input!): \(error)")
        }
        guard model.layout == c.layout, spec.canonical == c.modelSpec else {
            throw HDF5Error(path, "its layout table does not match the model its job describes (\(spec.canonical))")
        }
        c.parameters.withUnsafeBufferPointer { model.parameters.data.update(from: $0.baseAddress!, count: c.parameters.count) }
        if model.state.count == c.buffers.count, !c.buffers.isEmpty {
            c.buffers.withUnsafeBufferPointer { model.state.data.update(from: $0.baseAddress!, count: c.buffers.count) }
        }
        return SavedModel(contents: c, job: job, model: model)
    }
}
