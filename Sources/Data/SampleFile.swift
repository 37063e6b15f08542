// SampleFile.swift — Descent's HDF5 sample file: /images uint8 N×C×H×W, /labels int32 N, root attributes
// format = "descent-samples", version = 1, classes, source (and, in tiles cut from line-scan images, image_width).
// Written whole; read whole or sample by sample.
import CHDF5
import HDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes and reads whole sample files. HDF5 is used serially (default file access): no MPI needed.
public enum SampleFile {
    /// The `format` attribute of every sample file.
    public static let format = "descent-samples"
    /// The layout version this build writes and reads.
    public static let version = 1

    /// Writes `d` to `path` + ".tmp", flushes it to disk, then renames it to `path`: a crash at any moment leaves
    /// either the previous file or the complete new one under `path`.
    public static func write(_ d: Dataset, to path: String) throws {
        guard d.count > 0, d.channels > 0, d.height > 0, d.width > 0 else {
            throw DataError(path, "cannot write an empty data set (\(d.count) samples of \(d.shape))")
        }
        guard d.images.count == d.count * d.sampleSize else {
            throw DataError(path, "cannot write: \(d.images.count) bytes of pixels for \(d.count) samples of \(d.shape)")
        }
        if let i = d.labels.firstIndex(where: { $0 < 0 || Int($0) >= d.classes }) {
            throw DataError(path, "cannot write: label \(d.labels[i]) of sample \(i) is outside 0..<\(d.classes)")
        }
        let temporary = path + ".tmp"
        do {
            try HDF5Library.locked { try create(d, temporary, for: path) }
            try flush(temporary, for: path)
            guard rename(temporary, path) == 0 else {
                throw DataError(path, "cannot rename \(temporary) to it (\(String(cString: strerror(errno))))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// The whole file as a data set whose `source` is `path` (the file's own `source` attribute, where the samples
    /// were converted from, is `SampleFileReader.origin`).
    public static func read(_ path: String) throws -> Dataset {
        let reader = try SampleFileReader(path: path)
        defer { reader.close() }
        return try reader.readAll()
    }

    private static func create(_ d: Dataset, _ temporary: String, for path: String) throws {
        func fail(_ what: String) -> DataError { DataError(path, "cannot write \(temporary): HDF5 failed to \(what)") }
        let file = H5Fcreate(temporary, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard file >= 0 else {
            throw DataError(path, "cannot create \(temporary) (\(String(cString: strerror(errno))))\(HDF5Library.lockingHint())")
        }
        HDF5Library.closeOnExec(file)
        var closed = false
        defer { if !closed { H5Fclose(file) } }
        guard HDF5Library.setAttribute(file, "format", format), HDF5Library.setAttribute(file, "version", Int32(version)),
              HDF5Library.setAttribute(file, "classes", Int32(d.classes)), HDF5Library.setAttribute(file, "source", d.source)
        else { throw fail("write the attributes") }
        try d.images.withUnsafeBytes { pixels in
            try writeDataset(file, "images", [d.count, d.channels, d.height, d.width], shim_H5T_NATIVE_UINT8(),
                             pixels.baseAddress!, fail)
        }
        try d.labels.withUnsafeBytes { labels in
            try writeDataset(file, "labels", [d.count], shim_H5T_NATIVE_INT32(), labels.baseAddress!, fail)
        }
        closed = true
        guard H5Fclose(file) >= 0 else { throw fail("close the file") }  // where the last blocks are written
    }

    private static func writeDataset(_ file: hid_t, _ name: String, _ dims: [Int], _ type: hid_t,
                                     _ data: UnsafeRawPointer, _ fail: (String) -> DataError) throws {
        let extent = dims.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), extent, nil)
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(file, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard dataset >= 0 else { throw fail("create /\(name)") }
        defer { H5Dclose(dataset) }
        guard H5Dwrite(dataset, type, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), data) >= 0 else {
            throw fail("write /\(name)")
        }
    }

    /// fsync, so that the rename never publishes a file whose blocks are not yet on disk.
    private static func flush(_ temporary: String, for path: String) throws {
        let fd = open(temporary, O_RDONLY)
        guard fd >= 0, fsync(fd) == 0 else {
            let problem = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw DataError(path, "cannot flush \(temporary) to disk (\(problem))")
        }
        close(fd)
    }
}
