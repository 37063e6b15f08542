// Fixtures.swift — small data sets in the real on-disk formats, written by the tests into their scratch
// directories: IDX image and label files (gzipped with zlib, or raw), CIFAR-10 binary batches (records of 1 label
// byte + 3072 pixel bytes), and job files. The same approach as Tests/DataTests/Fixtures.swift (test targets
// cannot share code), here at the level of whole data directories as `descent` expects them.
import CZlib
import class Data.SampleFileWriter
import Foundation

/// Images and labels as stored: uint8 pixels, row-major N × C × H × W.
struct ImageSet {
    var images: [UInt8]
    var labels: [UInt8]
    var channels: Int, height: Int, width: Int
    var count: Int { labels.count }
}

/// A deterministic generator for fixture bytes (SplitMix64).
struct FixtureRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func byte(below n: Int) -> UInt8 { UInt8(next() % UInt64(n)) }
}

/// `count` images that a small MLP can learn: sample i has class i mod `classes`, noise below 64 everywhere and a
/// bright horizontal band whose position encodes the class.
func learnableImages(count: Int, channels: Int = 1, side: Int = 28, classes: Int = 10, seed: UInt64 = 1) -> ImageSet {
    var random = FixtureRandom(state: seed)
    var images: [UInt8] = []
    images.reserveCapacity(count * channels * side * side)
    let labels = (0..<count).map { UInt8($0 % classes) }
    for label in labels {
        let band = Int(label) * side / classes
        for _ in 0..<channels {
            for row in 0..<side {
                let bright = row >= band && row < band + max(side / classes, 1)
                for _ in 0..<side { images.append(random.byte(below: 64) + (bright ? 180 : 0)) }
            }
        }
    }
    return ImageSet(images: images, labels: labels, channels: channels, height: side, width: side)
}

func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

/// An IDX image file's bytes: magic 0x00000803, count, rows, columns, then the pixels.
func idxImages(_ set: ImageSet, magic: UInt32 = 0x803, count: Int? = nil) -> [UInt8] {
    bigEndian(magic) + bigEndian(UInt32(count ?? set.count)) + bigEndian(UInt32(set.height)) + bigEndian(UInt32(set.width))
        + set.images
}

/// An IDX label file's bytes: magic 0x00000801, count, then the labels.
func idxLabels(_ labels: [UInt8], count: Int? = nil) -> [UInt8] {
    bigEndian(0x801) + bigEndian(UInt32(count ?? labels.count)) + labels
}

func writeRaw(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Writes `bytes` gzip-compressed with zlib's own gzip writer.
func writeGzip(_ path: String, _ bytes: [UInt8]) throws {
    guard let gz = gzopen(path, "wb") else { throw FixtureError("\(path): gzopen failed") }
    let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
    guard gzclose(gz) == Z_OK, written == Int32(bytes.count) else { throw FixtureError("\(path): gzwrite failed") }
}

/// The IDX file names of a data directory as `descent` looks for them (with ".gz" when gzipped).
enum IDXName {
    static let trainImages = "train-images-idx3-ubyte", trainLabels = "train-labels-idx1-ubyte"
    static let testImages = "t10k-images-idx3-ubyte", testLabels = "t10k-labels-idx1-ubyte"
}

/// Writes a Fashion-MNIST-style data directory: the four IDX files, gzipped or raw.
func writeIDXDirectory(_ directory: String, train: ImageSet, test: ImageSet, gzipped: Bool = true) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let write = gzipped ? writeGzip : writeRaw
    let ext = gzipped ? ".gz" : ""
    try write(directory + "/" + IDXName.trainImages + ext, idxImages(train))
    try write(directory + "/" + IDXName.trainLabels + ext, idxLabels(train.labels))
    try write(directory + "/" + IDXName.testImages + ext, idxImages(test))
    try write(directory + "/" + IDXName.testLabels + ext, idxLabels(test.labels))
}

/// Writes a Descent sample file of `count` images of [1, side, side] in `classes` classes (sample i has label
/// i mod classes); with `masks`, each image has an H×W mask whose pixels cycle through the classes.
func writeSampleFile(_ path: String, count: Int = 16, side: Int = 8, classes: Int, masks: Bool) throws {
    let writer = try SampleFileWriter(path: path, shape: [1, side, side], classes: classes, source: "test", masks: masks)
    let image = (0..<side * side).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let mask = (0..<side * side).map { UInt8($0 % classes) }
    for i in 0..<count {
        try image.withUnsafeBufferPointer { pixels in
            try mask.withUnsafeBufferPointer { perPixel in
                try writer.append(image: pixels.baseAddress!, label: Int32(i % classes), mask: masks ? perPixel.baseAddress! : nil)
            }
        }
    }
    try writer.finish()
}

/// CIFAR-10 binary records of `set` (3×32×32): per record the label byte, then the red, green and blue planes.
func cifarRecords(_ set: ImageSet) -> [UInt8] {
    precondition(set.channels == 3 && set.height == 32 && set.width == 32)
    let size = 3 * 32 * 32
    return (0..<set.count).flatMap { i in [set.labels[i]] + set.images[i * size..<(i + 1) * size] }
}

/// Writes a CIFAR-10 directory: data_batch_1.bin … data_batch_5.bin with `perBatch` records each, and
/// test_batch.bin with `test` records. Returns the training and test sets written.
@discardableResult
func writeCIFARDirectory(_ directory: String, perBatch: Int = 8, test: Int = 10) throws -> (train: ImageSet, test: ImageSet) {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let train = learnableImages(count: 5 * perBatch, channels: 3, side: 32, seed: 11)
    let size = 3 * 32 * 32
    for b in 0..<5 {
        let part = ImageSet(images: Array(train.images[b * perBatch * size..<(b + 1) * perBatch * size]),
                            labels: Array(train.labels[b * perBatch..<(b + 1) * perBatch]), channels: 3, height: 32, width: 32)
        try writeRaw(directory + "/data_batch_\(b + 1).bin", cifarRecords(part))
    }
    let testSet = learnableImages(count: test, channels: 3, side: 32, seed: 12)
    try writeRaw(directory + "/test_batch.bin", cifarRecords(testSet))
    return (train, testSet)
}

/// A job file's text from its tables, in order: [("run", ["epochs = 2", …]), …].
func jobText(_ tables: [(String, [String])]) -> String {
    tables.map { name, lines in "[\(name)]\n" + lines.map { $0 + "\n" }.joined() }.joined(separator: "\n")
}

/// The job the tests train: a 16-unit MLP on the IDX files in `data`, run directories under `output`.
func tinyJob(data: String, output: String, name: String = "tiny", epochs: Int = 2, extra: [(String, [String])] = []) -> String {
    var tables: [(String, [String])] = [
        ("run", ["name = \"\(name)\"", "epochs = \(epochs)", "seed = 7", "output = \"\(output)\""]),
        ("data", ["set = \"fashion-mnist\"", "path = \"\(data)\""]),
        ("model", ["architecture = \"mlp\"", "hidden = [16]"]),
        ("optim", ["batch_size = 32", "lr = 0.1", "momentum = 0.9"]),
    ]
    for (table, lines) in extra {
        if let i = tables.firstIndex(where: { $0.0 == table }) { tables[i].1 += lines } else { tables.append((table, lines)) }
    }
    return jobText(tables)
}

/// A run's metrics.csv, its columns found by name in the header.
struct MetricsFile {
    let header: [String]
    var rows: [[String]]

    init(_ path: String) throws {
        let lines = try readText(path).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        header = lines.first ?? []
        rows = Array(lines.dropFirst())
    }

    func index(_ column: String) throws -> Int {
        try header.firstIndex(of: column).orThrow("metrics.csv has no column \(column): \(header)")
    }

    /// The column `name` of every row.
    func column(_ name: String) throws -> [String] {
        let i = try index(name)
        return rows.map { $0.count > i ? $0[i] : "" }
    }

    /// The columns that do not depend on timing (all but seconds and samples_per_second), with the header.
    var deterministic: [[String]] {
        let keep = header.indices.filter { !["seconds", "samples_per_second"].contains(header[$0]) }
        return ([header] + rows).map { row in keep.map { $0 < row.count ? row[$0] : "" } }
    }

    /// The file's text for these rows.
    var text: String { ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n" }
}

extension Optional {
    func orThrow(_ message: @autoclosure () -> String) throws -> Wrapped {
        guard let self else { throw FixtureError(message()) }
        return self
    }
}

/// The 8-byte signature every HDF5 file starts with.
let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
