// SampleFileWriter.swift — a Descent sample file written sample by sample (images, labels and, for segmentation
// tiles, masks), for data sets cut from images too large to hold: memory is one buffer of samples, whatever the
// count. The file appears under its name only when finished (written as path + ".tmp", fsynced, renamed).
import CHDF5
import HDF5
#if canImport(Glibc)
import Glibc
#endif

public final class SampleFileWriter {
    public let path: String
    public let shape: [Int]
    public let classes: Int
    /// The width of the images the samples were cut from, recorded as `image_width`.
    public let imageWidth: Int?
    public private(set) var count = 0
    private let withMasks: Bool
    private let temporary: String
    private var file: hid_t = -1, images: hid_t = -1, labels: hid_t = -1, masks: hid_t = -1
    private var pendingImages: [UInt8] = [], pendingLabels: [Int32] = [], pendingMasks: [UInt8] = []
    private static let samplesPerWrite = 256

    private var sampleSize: Int { shape.reduce(1, *) }
    private var maskSize: Int { shape[1] * shape[2] }

    /// Starts `path` (+ ".tmp") for samples of `shape` [C, H, W] with labels in 0..<classes; `masks`: each sample
    /// also has an H×W mask of classes (then `classes` counts the pixel classes). `imageWidth`, for tiles cut from
    /// images of one width, is stored as the root attribute `image_width`.
    public init(path: String, shape: [Int], classes: Int, source: String, masks: Bool, imageWidth: Int? = nil) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }), classes >= 1 else {
            throw DataError(path, "cannot write samples of shape \(shape) with \(classes) classes")
        }
        if let imageWidth, !(1...Int(Int32.max)).contains(imageWidth) {
            throw DataError(path, "cannot record an image width of \(imageWidth)")
        }
        self.path = path; self.shape = shape; self.classes = classes; self.imageWidth = imageWidth; withMasks = masks
        temporary = path + ".tmp"
        func fail(_ what: String) -> DataError { DataError(path, "cannot write \(temporary): HDF5 failed to \(what)") }
        try HDF5Library.locked {
            H5Eset_auto2(shim_H5E_DEFAULT(), nil, nil)
            file = H5Fcreate(temporary, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard file >= 0 else { throw DataError(path, "cannot create \(temporary) (\(String(cString: strerror(errno))))\(HDF5Library.lockingHint())") }
            HDF5Library.closeOnExec(file)
            guard HDF5Library.setAttribute(file, "format", SampleFile.format),
                  HDF5Library.setAttribute(file, "version", Int32(SampleFile.version)),
                  HDF5Library.setAttribute(file, "classes", Int32(classes)), HDF5Library.setAttribute(file, "source", source),
                  imageWidth.map({ HDF5Library.setAttribute(file, "image_width", Int32($0)) }) ?? true
            else { throw fail("write the attributes") }
            images = try Self.extensible(file, "images", shape, shim_H5T_NATIVE_UINT8(), fail)
            labels = try Self.extensible(file, "labels", [], shim_H5T_NATIVE_INT32(), fail)
            if masks { self.masks = try Self.extensible(file, "masks", [shape[1], shape[2]], shim_H5T_NATIVE_UINT8(), fail) }
        }
    }

    /// Without `finish`, the partial file is removed: nothing half-written is left under any name.
    deinit {
        guard file >= 0 else { return }
        closeHandles()
        unlink(temporary)
    }

    /// An N × `sample` dataset that grows along N, chunked by samples.
    private static func extensible(_ file: hid_t, _ name: String, _ sample: [Int], _ type: hid_t,
                                   _ fail: (String) -> DataError) throws -> hid_t {
        var dims = [hsize_t(0)] + sample.map { hsize_t($0) }
        var maxDims = [hsize_t.max] + sample.map { hsize_t($0) }   // H5S_UNLIMITED is (hsize_t)(-1)
        let perSample = max(sample.reduce(1, *), 1)
        var chunk = [hsize_t(max(1, min(samplesPerWrite, (1 << 20) / perSample)))] + sample.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        defer { H5Sclose(space) }
        let properties = H5Pcreate(shim_H5P_DATASET_CREATE())
        defer { H5Pclose(properties) }
        H5Pset_chunk(properties, Int32(chunk.count), &chunk)
        let d = H5Dcreate2(file, name, type, space, shim_H5P_DEFAULT(), properties, shim_H5P_DEFAULT())
        guard d >= 0 else { throw fail("create /\(name)") }
        return d
    }

    /// Appends one sample: `sampleSize` bytes of image, its label, and (for a file with masks) `H·W` bytes of mask.
    public func append(image: UnsafePointer<UInt8>, label: Int32, mask: UnsafePointer<UInt8>? = nil) throws {
        guard file >= 0 else { throw DataError(path, "written after finish") }
        guard label >= 0, Int(label) < classes else { throw DataError(path, "label \(label) is outside 0..<\(classes)") }
        guard (mask != nil) == withMasks else { throw DataError(path, withMasks ? "every sample needs a mask" : "this file has no masks") }
        // Checked before anything is buffered: a refused sample leaves the file as it was.
        if let mask, let bad = UnsafeBufferPointer(start: mask, count: maskSize).first(where: { Int($0) >= classes }) {
            throw DataError(path, "mask of sample \(count + pendingLabels.count) has class \(bad) outside 0..<\(classes)")
        }
        pendingImages.append(contentsOf: UnsafeBufferPointer(start: image, count: sampleSize))
        pendingLabels.append(label)
        if let mask { pendingMasks.append(contentsOf: UnsafeBufferPointer(start: mask, count: maskSize)) }
        if pendingLabels.count == Self.samplesPerWrite { try writePending() }
    }

    /// Writes what is buffered, closes, flushes to disk and renames the file to `path`.
    public func finish() throws {
        guard file >= 0 else { return }
        guard count + pendingLabels.count > 0 else { throw DataError(path, "no samples to write") }
        try writePending()
        let closed = closeHandles()
        guard closed else { unlink(temporary); throw DataError(path, "cannot close \(temporary) (disk full?)") }
        let fd = open(temporary, O_RDONLY)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, fsync(fd) == 0, rename(temporary, path) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(temporary)
            throw DataError(path, "cannot flush and rename \(temporary) (\(problem))")
        }
    }

    private func writePending() throws {
        let n = pendingLabels.count
        guard n > 0 else { return }
        try HDF5Library.locked {
            try pendingImages.withUnsafeBytes { try write(images, "images", shape, n, $0.baseAddress!) }
            try pendingLabels.withUnsafeBytes { try write(labels, "labels", [], n, $0.baseAddress!) }
            if withMasks { try pendingMasks.withUnsafeBytes { try write(masks, "masks", [shape[1], shape[2]], n, $0.baseAddress!) } }
        }
        count += n
        pendingImages.removeAll(keepingCapacity: true)
        pendingLabels.removeAll(keepingCapacity: true)
        pendingMasks.removeAll(keepingCapacity: true)
    }

    /// Grows `dataset` by `n` samples and writes them at the end.
    private func write(_ dataset: hid_t, _ name: String, _ sample: [Int], _ n: Int, _ data: UnsafeRawPointer) throws {
        var newDims = [hsize_t(count + n)] + sample.map { hsize_t($0) }
        guard H5Dset_extent(dataset, &newDims) >= 0 else { throw DataError(path, "cannot grow /\(name) in \(temporary)") }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        var start = [hsize_t(count)] + sample.map { _ in hsize_t(0) }
        var extent = [hsize_t(n)] + sample.map { hsize_t($0) }
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &extent, nil)
        let memory = H5Screate_simple(Int32(extent.count), &extent, nil)
        defer { H5Sclose(memory) }
        let type = name == "labels" ? shim_H5T_NATIVE_INT32() : shim_H5T_NATIVE_UINT8()
        guard H5Dwrite(dataset, type, memory, space, shim_H5P_DEFAULT(), data) >= 0 else {
            throw DataError(path, "cannot write /\(name) to \(temporary) (disk full?)")
        }
    }

    @discardableResult
    private func closeHandles() -> Bool {
        HDF5Library.locked {
            for d in [images, labels, masks] where d >= 0 { H5Dclose(d) }
            let ok = H5Fclose(file) >= 0
            (file, images, labels, masks) = (-1, -1, -1, -1)
            return ok
        }
    }
}
