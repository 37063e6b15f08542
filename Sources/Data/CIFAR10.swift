// CIFAR10.swift — the CIFAR-10 binary version: records of 1 label byte + 3×32×32 channel-major pixel bytes.

/// Reads the CIFAR-10 binary files (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`).
public enum CIFAR10 {
    /// Which files of the CIFAR-10 directory to read.
    public enum Split: String, Sendable, CaseIterable {
        case train, test
    }

    static let classes = 10, channels = 3, side = 32
    /// Bytes per record: the label, then the red, green and blue 32×32 planes.
    public static let recordSize = 1 + 3 * 32 * 32

    /// The file names of a split, in the order they are concatenated.
    public static func fileNames(_ split: Split) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    /// The split's files in `directory`, concatenated (train: 50000 samples, test: 10000).
    public static func read(directory: String, split: Split) throws -> Dataset {
        var d = try read(fileNames(split).map { directory + "/" + $0 })
        d.source = directory + (split == .train ? "/data_batch_{1..5}.bin" : "/test_batch.bin")
        return d
    }

    /// The records of `paths`, concatenated in order. Every file is checked (present, size) before any is read.
    public static func read(_ paths: [String]) throws -> Dataset {
        guard !paths.isEmpty else { throw DataError(message: "CIFAR-10: no files given") }
        let sizes = try paths.map { path in
            let size = try DataFile.check(path)
            if size == 0 { throw DataError(path, "is empty") }
            guard size % recordSize == 0 else {
                throw DataError(path, "size \(size) is not a multiple of the \(recordSize)-byte CIFAR-10 record")
            }
            return size
        }
        let total = sizes.reduce(0, +) / recordSize
        var images: [UInt8] = [], labels: [Int32] = []
        images.reserveCapacity(total * (recordSize - 1))
        labels.reserveCapacity(total)
        for (path, size) in zip(paths, sizes) {
            let bytes = try DataFile.readAll(path, size: size)
            try bytes.withUnsafeBufferPointer { b in
                for record in 0..<size / recordSize {
                    let start = record * recordSize
                    let label = b[start]
                    guard label < classes else {
                        throw DataError(path, "label \(label) of record \(record) is outside 0..<\(classes)")
                    }
                    labels.append(Int32(label))
                    images.append(contentsOf: b[(start + 1)..<(start + recordSize)])
                }
            }
        }
        return Dataset(images: images, labels: labels, channels: channels, height: side, width: side,
                       classes: classes, source: paths.count == 1 ? paths[0] : paths.joined(separator: ", "))
    }
}
