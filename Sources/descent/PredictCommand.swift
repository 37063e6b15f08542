// PredictCommand.swift — `descent predict MODEL --data FILE --out predictions.csv`: class predictions of a
// trained model (a checkpoint, or the final.h5 a run saves) for every sample of a data file, Kaggle style.
import ArgumentParser
import Foundation
import Checkpoint
import Data
import Layers
import Train

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict the class of every sample of a data file with a trained model.",
        discussion: """
        MODEL is a checkpoint (runs/<name>/checkpoints/step-N.h5) or the final model of a run (runs/<name>/final.h5). \
        FILE is an IDX images file (gzipped or raw), a CIFAR-10 .bin file or a Descent HDF5 sample file; its samples \
        must have the model's input shape. The model's normalisation is applied. The output has a header line \
        `id,label` and one row per sample, id being the sample's 0-based position in FILE. When FILE carries labels \
        (HDF5, CIFAR-10, or IDX with --labels) the accuracy is printed too.
        """
    )

    @Argument(help: "A checkpoint or final.h5.")
    var model: String

    @Option(help: "The samples to classify.")
    var data: String

    @Option(help: "Labels for an IDX images file (to print the accuracy).")
    var labels: String?

    @Option(help: "Where to write the predictions (CSV).")
    var out: String = "predictions.csv"

    func run() throws {
        try failing {
            let saved = try ModelFile.load(model)
            guard saved.model.outputShape.count == 1 else {   // [K, H, W]: a class per pixel
                throw CommandError("\(model): a segmentation model (output \(saved.model.outputShape)), which predicts a class per pixel, not per sample; HINT: descent glass segment \(model) IMAGE.tif")
            }
            let samples = try PredictCommand.readSamples(data, labels: labels)
            guard samples.shape == saved.model.inputShape else {
                throw CommandError("\(data): samples of shape \(samples.shape), but the model in \(model) takes \(saved.model.inputShape)")
            }
            let predictions = Predictor(saved).predict(samples)
            var csv = "id,label\n"
            for (i, p) in predictions.enumerated() { csv += "\(i),\(p)\n" }
            try writeAtomically(out, csv)
            var line = "\(out): \(predictions.count) predictions"
            if samples.hasLabels {
                let correct = zip(predictions, samples.labels).filter { $0 == Int($1) }.count
                line += "; accuracy \(String(format: "%.4g", Double(correct) / Double(max(predictions.count, 1)))) against the labels in \(labels ?? data)"
            }
            print(line)
        }
    }

    /// Samples of any supported file, by content: HDF5 signature, CIFAR-10 record size, else IDX.
    static func readSamples(_ path: String, labels: String?) throws -> Dataset {
        if path.hasSuffix(".h5") || path.hasSuffix(".hdf5") { return try SampleFile.read(path) }
        if path.hasSuffix(".bin") { return try CIFAR10.read([path]) }
        if let labels { return try IDX.read(images: path, labels: labels) }
        let (images, count, height, width) = try IDX.readImages(path)
        return Dataset(images: images, labels: [Int32](repeating: -1, count: count), channels: 1, height: height,
                       width: width, classes: 0, source: path)
    }
}

extension Dataset {
    var hasLabels: Bool { labels.first.map { $0 >= 0 } ?? false }
}
