// MaskFile.swift — a predicted class mask as one HDF5 file (/mask, uint8 height × width, one class per pixel),
// written by every rank of a job at once through MPI-IO, each rank its own bands of rows (collective writes), and
// read back band by band like a mask TIFF.
import CHDF5
import Distributed
import HDF5
#if canImport(Glibc)
import Glibc
#endif

public enum MaskFileFormat {
    public static let name = "descent-mask"
    public static let version: Int64 = 1
}

/// Creates the mask file on every rank of `communicator` (collective) and writes bands of rows.
public final class MaskFileWriter {
    public let path: String
    public let width: Int, height: Int
    /// Where the file is written until `finish` renames it (a rank that fails removes it before aborting the job).
    public let temporary: String
    private let communicator: Communicator
    private var file: HDF5File?
    private var dataset: hid_t = -1, transfer: hid_t = -1

    /// `attributes` are written on the root group (source image, model, class names).
    public init(path: String, width: Int, height: Int, communicator: Communicator, attributes: [(String, String)]) throws {
        self.path = path; self.width = width; self.height = height; self.communicator = communicator
        temporary = path + ".tmp"
        let f = try HDF5File.create(temporary, parallelOver: communicator.size > 1 ? communicator.mpiHandle : nil)
        file = f
        try f.setAttribute("format", MaskFileFormat.name)
        try f.setAttribute("version", MaskFileFormat.version)
        for (k, v) in attributes { try f.setAttribute(k, v) }
        try HDF5Library.locked {
            var dims = [hsize_t(height), hsize_t(width)]
            let space = H5Screate_simple(2, &dims, nil)
            defer { H5Sclose(space) }
            dataset = H5Dcreate2(f.id, "mask", shim_H5T_NATIVE_UINT8(), space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard dataset >= 0 else { throw HDF5Error(temporary, "cannot create /mask (\(height) × \(width))") }
            transfer = H5Pcreate(shim_H5P_DATASET_XFER())
            if communicator.size > 1 { H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE) }
        }
    }

    deinit {
        guard file != nil else { return }
        closeHandles()
        if communicator.isRoot { unlink(temporary) }
    }

    /// Writes rows `rows` from `data` (rows.count · width bytes). Collective: every rank calls it the same number
    /// of times; a rank with nothing to write passes an empty range.
    public func write(rows: Range<Int>, _ data: UnsafePointer<UInt8>) throws {
        guard rows.lowerBound >= 0, rows.upperBound <= height else { throw HDF5Error(temporary, "rows \(rows) outside 0..<\(height)") }
        try HDF5Library.locked {
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            var start = [hsize_t(rows.lowerBound), 0], count = [hsize_t(rows.count), hsize_t(width)]
            var memoryCount = [hsize_t(max(rows.count, 1) * width)]
            let memory = H5Screate_simple(1, &memoryCount, nil)
            defer { H5Sclose(memory) }
            if rows.isEmpty {
                H5Sselect_none(space)
                H5Sselect_none(memory)
            } else {
                H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &count, nil)
            }
            guard H5Dwrite(dataset, shim_H5T_NATIVE_UINT8(), memory, space, transfer, data) >= 0 else {
                throw HDF5Error(temporary, "cannot write rows \(rows) of /mask (disk full?)")
            }
        }
    }

    /// Closes the file on every rank, flushes it and renames it to `path` (rank 0). Collective.
    public func finish() throws {
        guard file != nil else { return }
        let closed = closeHandles()
        let ok = communicator.agree(closed ? 1 : 0, .min) == 1
        guard ok else { throw HDF5Error(temporary, "cannot be closed on every rank (disk full?)") }
        if communicator.isRoot {
            let fd = open(temporary, O_RDONLY)
            defer { if fd >= 0 { close(fd) } }
            guard fd >= 0, fsync(fd) == 0, rename(temporary, path) == 0 else {
                throw HDF5Error(path, "cannot flush and rename \(temporary) (\(String(cString: strerror(errno))))")
            }
        }
        communicator.barrier()
    }

    @discardableResult
    private func closeHandles() -> Bool {
        HDF5Library.locked {
            if dataset >= 0 { H5Dclose(dataset) }
            if transfer >= 0 { H5Pclose(transfer) }
        }
        (dataset, transfer) = (-1, -1)
        let ok = (try? file?.close()) != nil
        file = nil
        return ok
    }
}

/// Reads bands of rows of a mask file (serially, any process).
public final class MaskFileReader: MaskRows {
    public let path: String
    public let width: Int, height: Int
    private let file: HDF5File
    private let dataset: hid_t

    public init(path: String) throws {
        file = try HDF5File.open(path)
        self.path = path
        guard (try? file.stringAttribute("format")) == MaskFileFormat.name else {
            throw HDF5Error(path, "not a Descent mask file (no format attribute '\(MaskFileFormat.name)')")
        }
        let shape = try file.shape("mask")
        guard shape.count == 2, shape[0] > 0, shape[1] > 0 else { throw HDF5Error(path, "/mask is \(shape), expected height × width") }
        (height, width) = (shape[0], shape[1])
        let id = file.id
        dataset = HDF5Library.locked { H5Dopen2(id, "mask", shim_H5P_DEFAULT()) }
        guard dataset >= 0 else { throw HDF5Error(path, "cannot open /mask") }
    }

    deinit {
        HDF5Library.locked { _ = H5Dclose(dataset) }
        try? file.close()
    }

    public func read(rows: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws {
        guard rows.lowerBound >= 0, rows.upperBound <= height, !rows.isEmpty else {
            throw HDF5Error(path, "rows \(rows) outside 0..<\(height)")
        }
        try HDF5Library.locked {
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            var start = [hsize_t(rows.lowerBound), 0], count = [hsize_t(rows.count), hsize_t(width)]
            H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &count, nil)
            let memory = H5Screate_simple(2, &count, nil)
            defer { H5Sclose(memory) }
            guard H5Dread(dataset, shim_H5T_NATIVE_UINT8(), memory, space, shim_H5P_DEFAULT(), out) >= 0 else {
                throw HDF5Error(path, "cannot read rows \(rows) of /mask (truncated file?)")
            }
        }
    }
}
