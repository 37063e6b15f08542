// DataFingerprint.swift — what a checkpoint records of the data it was trained on (/data@fingerprint): sample
// counts, sample shape, classes and a CRC-32 of each split's labels. Resume compares it rather than data.path, so
// that a data directory may move but a checkpoint never continues on other data.
import CZlib

public enum DataFingerprint {
    /// "train 240 × [1, 28, 28] (labels crc32 …), test 60 (labels crc32 …), 10 classes".
    public static func text(trainLabels: [Int32], testLabels: [Int32], shape: [Int], classes: Int) -> String {
        "train \(trainLabels.count) × \(shape) (labels crc32 \(crc(trainLabels))), test \(testLabels.count) (labels crc32 \(crc(testLabels))), \(classes) classes"
    }

    private static func crc(_ labels: [Int32]) -> UInt {
        labels.withUnsafeBytes { CZlib.crc32(0, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32($0.count)) }
    }
}
