// MalformedInputTests.swift — one table of damaged or wrong inputs across IDX, CIFAR-10 and HDF5 sample files:
// each must fail with exactly one line that names the file and says what is wrong.
import CHDF5
import Foundation
import Testing
@testable import Data

/// A damaged input: `make` writes files into a scratch directory and returns the read that must fail together
/// with the exact message it must fail with. `prefix` cases (zlib's wording) check the message's start only.
struct Malformed: Sendable, CustomTestStringConvertible {
    let name: String
    var prefix = false
    let make: @Sendable (Scratch) throws -> (read: @Sendable () throws -> Void, message: String)
    var testDescription: String { name }
}

private let pixels = [UInt8](0..<12)  // 3 images of 2×2

/// Writes a valid sample file of 5 samples, applies `change`, returns what reading it must say.
private func sampleFile(_ dir: Scratch, _ problem: String, _ change: @escaping (hid_t) -> Void) throws
    -> (read: @Sendable () throws -> Void, message: String) {
    let path = dir.file("s.h5")
    try SampleFile.write(sampleData(count: 5), to: path)
    mutateSampleFile(path, change)
    return ({ _ = try SampleFileReader(path: path) }, "\(path): \(problem)")
}

/// Replaces /images (uint8) and /labels (int32) by datasets of `images` and `labels` dimensions that are declared
/// and never written (nil: the dataset is left as it is).
private func replaceDatasets(_ file: hid_t, images: [Int]?, labels: [Int]?) {
    for (name, dims, type) in [("images", images, shim_H5T_NATIVE_UINT8()), ("labels", labels, shim_H5T_NATIVE_INT32())] {
        guard let dims else { continue }
        H5Ldelete(file, name, shim_H5P_DEFAULT())
        declareDataset(file, name, dims, type)
    }
}

let malformedInputs: [Malformed] = [
    // IDX
    Malformed(name: "IDX: missing file") { dir in
        let p = dir.file("nothing-here-idx3-ubyte.gz")
        return ({ _ = try IDX.readImages(p) }, "\(p): no such file")
    },
    Malformed(name: "IDX: a directory") { dir in
        ({ _ = try IDX.readLabels(dir.path) }, "\(dir.path): is a directory")
    },
    Malformed(name: "IDX: empty file") { dir in
        let p = dir.file("empty"); try writeRaw(p, [])
        return ({ _ = try IDX.readImages(p) }, "\(p): is empty")
    },
    Malformed(name: "IDX: header cut short") { dir in
        let p = dir.file("short"); try writeRaw(p, Array(idxImages(count: 3, height: 2, width: 2, pixels: []).prefix(10)))
        return ({ _ = try IDX.readImages(p) }, "\(p): truncated: the IDX header is incomplete (10 of 16 bytes)")
    },
    Malformed(name: "IDX: truncated pixels (raw)") { dir in
        let p = dir.file("images"); try writeRaw(p, idxImages(count: 3, height: 2, width: 2, pixels: Array(pixels.prefix(10))))
        return ({ _ = try IDX.readImages(p) }, "\(p): truncated: expected 12 bytes of pixels, found 10")
    },
    Malformed(name: "IDX: truncated pixels (complete gzip stream)") { dir in
        let p = dir.file("images.gz"); try writeGzip(p, idxImages(count: 4, height: 2, width: 2, pixels: pixels))
        return ({ _ = try IDX.readImages(p) }, "\(p): truncated: expected 16 bytes of pixels, found 12")
    },
    Malformed(name: "IDX: truncated gzip stream") { dir in
        let whole = dir.file("whole.gz"), p = dir.file("cut.gz")
        let noise = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try writeGzip(whole, idxImages(count: 5000, height: 2, width: 2, pixels: noise))
        let bytes = try readRaw(whole)
        try writeRaw(p, Array(bytes.prefix(bytes.count / 2)))
        return ({ _ = try IDX.readImages(p) }, "\(p): truncated gzip stream (zlib: unexpected end of file)")
    },
    Malformed(name: "IDX: corrupt gzip stream", prefix: true) { dir in
        let p = dir.file("bad.gz")
        try writeGzip(p, idxImages(count: 3, height: 2, width: 2, pixels: pixels))
        var bytes = try readRaw(p)
        bytes[bytes.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        try writeRaw(p, bytes)
        return ({ _ = try IDX.readImages(p) }, "\(p): corrupt gzip stream (zlib: ")
    },
    Malformed(name: "IDX: not IDX at all (a zip file)") { dir in
        let p = dir.file("x.zip"); try writeRaw(p, [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 40))
        return ({ _ = try IDX.readImages(p) }, "\(p): not an IDX image file (magic 0x504b0304, expected 0x00000803)")
    },
    Malformed(name: "IDX: labels file given as images") { dir in
        let p = dir.file("labels.gz"); try writeGzip(p, idxLabels([1, 2, 3]))
        return ({ _ = try IDX.readImages(p) },
                "\(p): not an IDX image file (magic 0x00000801, expected 0x00000803); is it a labels file?")
    },
    Malformed(name: "IDX: images file given as labels") { dir in
        let p = dir.file("images"); try writeRaw(p, idxImages(count: 3, height: 2, width: 2, pixels: pixels))
        return ({ _ = try IDX.readLabels(p) },
                "\(p): not an IDX label file (magic 0x00000803, expected 0x00000801); is it an images file?")
    },
    Malformed(name: "IDX: four dimensions") { dir in
        let p = dir.file("images"); try writeRaw(p, bigEndian(0x804) + [UInt8](repeating: 1, count: 16))
        return ({ _ = try IDX.readImages(p) },
                "\(p): not an IDX image file (magic 0x00000804, expected 0x00000803): 4 dimensions, expected 3")
    },
    Malformed(name: "IDX: image and label counts differ") { dir in
        let i = dir.file("images"), l = dir.file("labels")
        try writeRaw(i, idxImages(count: 3, height: 2, width: 2, pixels: pixels))
        try writeRaw(l, idxLabels([1, 2]))
        return ({ _ = try IDX.read(images: i, labels: l) }, "\(i) has 3 images but \(l) has 2 labels")
    },
    Malformed(name: "IDX: label out of range") { dir in
        let i = dir.file("images.gz"), l = dir.file("labels.gz")
        try writeGzip(i, idxImages(count: 5, height: 1, width: 1, pixels: [1, 2, 3, 4, 5]))
        try writeGzip(l, idxLabels([0, 1, 2, 12, 9]))
        return ({ _ = try IDX.read(images: i, labels: l) }, "\(l): label 12 of sample 3 is outside 0..<10")
    },
    Malformed(name: "IDX: trailing bytes after the pixels") { dir in
        let p = dir.file("images"); try writeRaw(p, idxImages(count: 3, height: 2, width: 2, pixels: pixels + [9, 9, 9, 9, 9]))
        return ({ _ = try IDX.readImages(p) }, "\(p): 5 bytes of trailing data after the 12 bytes of pixels")
    },
    Malformed(name: "IDX: trailing bytes after the labels (gzipped)") { dir in
        let p = dir.file("labels.gz"); try writeGzip(p, idxLabels([1, 2, 3, 4], count: 3))
        return ({ _ = try IDX.readLabels(p) }, "\(p): 1 byte of trailing data after the 3 bytes of labels")
    },
    Malformed(name: "IDX: zero images") { dir in
        let p = dir.file("images"); try writeRaw(p, idxImages(count: 0, height: 28, width: 28, pixels: []))
        return ({ _ = try IDX.readImages(p) }, "\(p): holds no images (count 0)")
    },
    // CIFAR-10
    Malformed(name: "CIFAR-10: size not a multiple of the record") { dir in
        let p = dir.file("data_batch_1.bin"); try writeRaw(p, cifarRecords(Array(repeating: 1, count: 10)) + [0])
        return ({ _ = try CIFAR10.read([p]) },
                "\(p): size 30731 is not a multiple of the 3073-byte CIFAR-10 record")
    },
    Malformed(name: "CIFAR-10: missing data_batch_3.bin") { dir in
        for i in [1, 2, 4, 5] { try writeRaw(dir.file("data_batch_\(i).bin"), cifarRecords([1])) }
        return ({ _ = try CIFAR10.read(directory: dir.path, split: .train) }, "\(dir.file("data_batch_3.bin")): no such file")
    },
    Malformed(name: "CIFAR-10: label 11") { dir in
        let p = dir.file("test_batch.bin"); try writeRaw(p, cifarRecords([1, 11, 2]))
        return ({ _ = try CIFAR10.read(directory: dir.path, split: .test) }, "\(p): label 11 of record 1 is outside 0..<10")
    },
    Malformed(name: "CIFAR-10: empty file") { dir in
        let a = dir.file("a.bin"), p = dir.file("b.bin")
        try writeRaw(a, cifarRecords([1])); try writeRaw(p, [])
        return ({ _ = try CIFAR10.read([a, p]) }, "\(p): is empty")
    },
    // HDF5 sample files
    Malformed(name: "HDF5: missing file") { dir in
        let p = dir.file("train.h5")
        return ({ _ = try SampleFile.read(p) }, "\(p): no such file")
    },
    Malformed(name: "HDF5: not an HDF5 file") { dir in
        let p = dir.file("train.h5"); try writeRaw(p, Array("images,labels\n1,2\n".utf8))
        return ({ _ = try SampleFile.read(p) }, "\(p): not an HDF5 file")
    },
    Malformed(name: "HDF5: wrong format attribute") { dir in
        try sampleFile(dir, "format is 'x', expected 'descent-samples'") { replaceAttribute($0, "format", "x") }
    },
    Malformed(name: "HDF5: no format attribute") { dir in
        try sampleFile(dir, "no 'format' attribute: not a Descent sample file (expected format 'descent-samples')") {
            H5Adelete($0, "format")
        }
    },
    Malformed(name: "HDF5: unsupported version") { dir in
        try sampleFile(dir, "version 2 is not supported (this build reads version 1)") { replaceAttribute($0, "version", 2) }
    },
    Malformed(name: "HDF5: missing /labels") { dir in
        try sampleFile(dir, "no /labels dataset") { H5Ldelete($0, "labels", shim_H5P_DEFAULT()) }
    },
    Malformed(name: "HDF5: missing /images") { dir in
        try sampleFile(dir, "no /images dataset") { H5Ldelete($0, "images", shim_H5P_DEFAULT()) }
    },
    Malformed(name: "HDF5: /images 3-D") { dir in
        try sampleFile(dir, "/images is a 3-D uint8 dataset, expected a 4-D uint8 dataset (N×C×H×W)") {
            H5Ldelete($0, "images", shim_H5P_DEFAULT())
            createDataset($0, "images", [5, 3, 4], shim_H5T_NATIVE_UINT8(), [UInt8](repeating: 0, count: 60))
        }
    },
    Malformed(name: "HDF5: /images float32") { dir in
        try sampleFile(dir, "/images is a 4-D float32 dataset, expected a 4-D uint8 dataset (N×C×H×W)") {
            H5Ldelete($0, "images", shim_H5P_DEFAULT())
            createDataset($0, "images", [5, 1, 3, 4], shim_H5T_NATIVE_FLOAT(), [Float](repeating: 0, count: 60))
        }
    },
    Malformed(name: "HDF5: label count differs from image count") { dir in
        try sampleFile(dir, "/labels has 4 labels but /images has 5 images") {
            H5Ldelete($0, "labels", shim_H5P_DEFAULT())
            createDataset($0, "labels", [4], shim_H5T_NATIVE_INT32(), [Int32](repeating: 0, count: 4))
        }
    },
    Malformed(name: "HDF5: label out of range") { dir in
        try sampleFile(dir, "label 12 of sample 3 is outside 0..<10") {
            H5Ldelete($0, "labels", shim_H5P_DEFAULT())
            createDataset($0, "labels", [5], shim_H5T_NATIVE_INT64(), [Int64]([0, 1, 2, 12, 4]))
        }
    },
    Malformed(name: "HDF5: a terabyte of images declared in a small file") { dir in
        try sampleFile(dir, "/images declares 1099511627776 images of 1×28×28, which is not plausible (over a terabyte)") {
            replaceDatasets($0, images: [1 << 40, 1, 28, 28], labels: [1 << 40])
        }
    },
    Malformed(name: "HDF5: image bytes that overflow a 64-bit count") { dir in
        try sampleFile(dir, "/images declares 4611686018427387904 images of 1×4×4, which is not plausible (over a terabyte)") {
            replaceDatasets($0, images: [1 << 62, 1, 4, 4], labels: nil)
        }
    },
    Malformed(name: "HDF5: implausible image side") { dir in
        try sampleFile(dir, "/images holds images of 70000×4, which is not plausible (each side must be 1...65536)") {
            replaceDatasets($0, images: [5, 1, 70_000, 4], labels: [5])
        }
    },
    Malformed(name: "HDF5: implausible channel count") { dir in
        try sampleFile(dir, "/images holds images of 5000 channels, which is not plausible (at most 1024)") {
            replaceDatasets($0, images: [5, 5000, 3, 4], labels: [5])
        }
    },
    Malformed(name: "HDF5: /images declared but never written") { dir in
        try sampleFile(dir, "/images declares 60 bytes but the file stores 0 of them (truncated, or never written)") {
            replaceDatasets($0, images: [5, 1, 3, 4], labels: nil)
        }
    },
    Malformed(name: "HDF5: /labels declared but never written") { dir in
        try sampleFile(dir, "/labels declares 20 bytes but the file stores 0 of them (truncated, or never written)") {
            replaceDatasets($0, images: nil, labels: [5])
        }
    },
    Malformed(name: "HDF5: writing into a missing directory") { dir in
        let p = dir.file("no-such-directory/train.h5")
        return ({ try SampleFile.write(sampleData(count: 2), to: p) },
                "\(p): cannot create \(p).tmp (No such file or directory)")
    },
    Malformed(name: "HDF5: sample index outside the file") { dir in
        let p = dir.file("s.h5")
        try SampleFile.write(sampleData(count: 5), to: p)
        return ({
            var images = [UInt8](repeating: 0, count: 24), labels: [Int32] = [0, 0]
            try SampleFileReader(path: p).read(indices: [1, 5], into: &images, labels: &labels)
        }, "\(p): sample index 5 is outside 0..<5")
    },
]

@Suite("Malformed data files")
struct MalformedInputTests {
    @Test("each malformed input fails with one line naming the file and the problem", arguments: malformedInputs)
    func malformed(_ input: Malformed) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let (read, message) = try input.make(dir)
        let error = #expect(throws: DataError.self) { try read() }
        let said = error?.description ?? ""
        #expect(!said.contains("\n"))
        if input.prefix { #expect(said.hasPrefix(message)) } else { #expect(said == message) }
    }

    @Test("an unreadable file", .enabled(if: geteuid() != 0, "root reads every file"))
    func unreadable() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let p = dir.file("images")
        try writeRaw(p, idxImages(count: 3, height: 2, width: 2, pixels: pixels))
        chmod(p, 0)
        #expect(throws: DataError(p, "cannot be read (permission denied)")) { try IDX.readImages(p) }
    }

    @Test("the table covers the three formats with at least 15 distinct cases") func coverage() {
        #expect(Set(malformedInputs.map(\.name)).count == malformedInputs.count)
        for format in ["IDX", "CIFAR-10", "HDF5"] { #expect(malformedInputs.contains { $0.name.hasPrefix(format) }) }
        #expect(malformedInputs.count >= 15)
    }
}
