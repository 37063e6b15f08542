// Dataset.swift — a labelled image data set as it is stored on disk: N samples of C×H×W bytes and N class labels.
// Readers (IDX, CIFAR-10, HDF5 sample files) produce it; Preprocessing turns it into training floats.

/// Samples as stored: uint8 pixels, row-major N × C × H × W, and one Int32 label per sample.
public struct Dataset: Equatable, Sendable {
    public var images: [UInt8]
    public var labels: [Int32]
    public var channels: Int, height: Int, width: Int
    /// Number of classes (labels lie in 0..<classes).
    public var classes: Int
    /// Where the samples came from, for messages ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").
    public var source: String

    public init(images: [UInt8], labels: [Int32], channels: Int, height: Int, width: Int, classes: Int, source: String) {
        self.images = images; self.labels = labels
        self.channels = channels; self.height = height; self.width = width
        self.classes = classes; self.source = source
    }

    public var count: Int { labels.count }
    public var sampleSize: Int { channels * height * width }
    /// Per-sample shape [C, H, W].
    public var shape: [Int] { [channels, height, width] }
}

/// A problem with a data file, said so that a person can fix it: the path and what is wrong.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
    public init(message: String) { description = message }
}
