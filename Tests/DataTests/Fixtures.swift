// Fixtures.swift — small files in the real on-disk formats (IDX raw and gzipped, CIFAR-10 records, HDF5 sample
// files and damaged variants of them) written into a fresh temporary directory per test.
import CHDF5
import HDF5
import CZlib
@testable import Data
import Foundation

/// A temporary directory, removed by `remove()`.
struct Scratch {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/descent-data-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// `count` images of h×w whose pixels encode (sample, position), and labels cycling through 0..<10.
func sampleData(count: Int, channels: Int = 1, height: Int = 3, width: Int = 4, classes: Int = 10,
                source: String = "test") -> Dataset {
    let size = channels * height * width
    let images = (0..<count * size).map { UInt8(truncatingIfNeeded: ($0 / size) * 31 + ($0 % size) * 7) }
    let labels = (0..<count).map { Int32(($0 * 7 + 3) % classes) }
    return Dataset(images: images, labels: labels, channels: channels, height: height, width: width,
                   classes: classes, source: source)
}

func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

/// An IDX image file's bytes: magic, dimensions, pixels.
func idxImages(count: Int, height: Int, width: Int, pixels: [UInt8]) -> [UInt8] {
    bigEndian(0x803) + bigEndian(UInt32(count)) + bigEndian(UInt32(height)) + bigEndian(UInt32(width)) + pixels
}

/// An IDX label file's bytes.
func idxLabels(_ labels: [UInt8], count: Int? = nil) -> [UInt8] {
    bigEndian(0x801) + bigEndian(UInt32(count ?? labels.count)) + labels
}

func writeRaw(_ path: String, _ bytes: [UInt8]) throws {
    try Foundation.Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readRaw(_ path: String) throws -> [UInt8] {
    [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `bytes` gzip-compressed with zlib's own gzip writer.
func writeGzip(_ path: String, _ bytes: [UInt8]) throws {
    guard let gz = gzopen(path, "wb") else { throw DataError(path, "test fixture: gzopen failed") }
    let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
    guard gzclose(gz) == Z_OK, written == Int32(bytes.count) else { throw DataError(path, "test fixture: gzwrite failed") }
}

/// Writes a data set as an IDX pair (gzipped or raw); returns the two paths.
func writeIDX(_ d: Dataset, in dir: Scratch, gzipped: Bool) throws -> (images: String, labels: String) {
    let ext = gzipped ? ".gz" : ""
    let paths = (dir.file("images-idx3-ubyte" + ext), dir.file("labels-idx1-ubyte" + ext))
    let write = gzipped ? writeGzip : writeRaw
    try write(paths.0, idxImages(count: d.count, height: d.height, width: d.width, pixels: d.images))
    try write(paths.1, idxLabels(d.labels.map { UInt8($0) }))
    return paths
}

/// CIFAR-10 records: label byte then 3072 pixel bytes; pixels encode (record, position, seed).
func cifarRecords(_ labels: [UInt8], seed: Int = 0) -> [UInt8] {
    labels.enumerated().flatMap { r, label in
        [label] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ r &* 101 &+ seed &* 57) }
    }
}

/// Changes a valid sample file in place (the HDF5 lock held, as the library's own calls hold it).
func mutateSampleFile(_ path: String, _ change: (hid_t) -> Void) {
    HDF5Library.locked {
        let file = H5Fopen(path, shim_H5F_ACC_RDWR(), shim_H5P_DEFAULT())
        precondition(file >= 0, "test fixture: cannot open \(path)")
        change(file)
        H5Fclose(file)
    }
}

/// Creates dataset `name` with `dims` of `type` in `file`, filled from `data`.
func createDataset<T>(_ file: hid_t, _ name: String, _ dims: [Int], _ type: hid_t, _ data: [T]) {
    var extent = dims.map { hsize_t($0) }
    let space = H5Screate_simple(Int32(dims.count), &extent, nil)
    let dataset = H5Dcreate2(file, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
    precondition(dataset >= 0, "test fixture: cannot create \(name)")
    _ = data.withUnsafeBytes { H5Dwrite(dataset, type, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), $0.baseAddress) }
    H5Dclose(dataset)
    H5Sclose(space)
}

/// Declares dataset `name` with `dims` of `type` in `file` without writing it (HDF5 allocates no storage): a
/// header that claims samples the file does not hold.
func declareDataset(_ file: hid_t, _ name: String, _ dims: [Int], _ type: hid_t) {
    var extent = dims.map { hsize_t($0) }
    let space = H5Screate_simple(Int32(dims.count), &extent, nil)
    let dataset = H5Dcreate2(file, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
    precondition(dataset >= 0, "test fixture: cannot declare \(name)")
    H5Dclose(dataset)
    H5Sclose(space)
}

/// Replaces attribute `name` of the root group.
func replaceAttribute(_ file: hid_t, _ name: String, _ value: String) {
    H5Adelete(file, name)
    _ = HDF5Library.setAttribute(file, name, value)
}

func replaceAttribute(_ file: hid_t, _ name: String, _ value: Int32) {
    H5Adelete(file, name)
    _ = HDF5Library.setAttribute(file, name, value)
}
