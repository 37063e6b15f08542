// Predictor.swift — class predictions of a saved model for a data set: the model's normalisation, forward passes
// in evaluation mode over batches, arg-max per sample.
import Checkpoint
import Data
import Layers

public struct Predictor {
    public let saved: SavedModel
    public init(_ saved: SavedModel) { self.saved = saved }

    /// The predicted class of every sample of `data`.
    public func predict(_ data: Dataset) -> [Int] {
        let model = saved.model
        let transform = SampleTransform.normalization(shape: model.inputShape, shift: saved.contents.shift, scale: saved.contents.scale)
        let size = data.sampleSize, classes = model.outputShape[0]
        var predictions: [Int] = []
        predictions.reserveCapacity(data.count)
        data.images.withUnsafeBufferPointer { px in
            var start = 0
            while start < data.count {
                let n = min(model.maxBatch, data.count - start)
                for k in 0..<n {
                    transform.apply(index: start + k, px.baseAddress! + (start + k) * size, into: model.input.data + k * size)
                }
                let out = model.forward(batch: n, .evaluation)
                for k in 0..<n {
                    let row = out.data + k * classes
                    var best = 0
                    for c in 1..<classes where row[c] > row[best] { best = c }
                    predictions.append(best)
                }
                start += n
            }
        }
        return predictions
    }
}
