// HDF5File.swift — a thin Swift face on the HDF5 C library for Descent's own files (checkpoints, final models):
// create or open a file, groups, scalar attributes, whole 1-D/2-D datasets of Float, Int64, UInt8 and
// fixed-length strings. Every failure becomes an `HDF5Error` naming the file and the object; HDF5's own error
// stack is never printed. Every call holds HDF5Library's lock: the library is built without thread safety, and the
// sample files of Data are read from other threads.
import CHDF5
import CMPI
#if canImport(Glibc)
import Glibc
#endif

public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

public final class HDF5File {
    public let path: String
    public private(set) var id: hid_t
    /// Whether this process writes the data of whole datasets (`write(_:shape:type:_:)`). A file open on several
    /// processes (MPI-IO) creates every dataset on all of them; one process (set the others to false) writes the
    /// small datasets every process holds the same copy of. Sliced writes ignore it.
    public var writesWholeDatasets = true

    private init(path: String, id: hid_t) { self.path = path; self.id = id }

    /// Creates (truncates) `path`: serially, or with `processes`, by every process of that MPI communicator at
    /// once through the MPI-IO driver (each then writes its own part; see `writesWholeDatasets`).
    public static func create(_ path: String, parallelOver processes: MPI_Comm? = nil) throws -> HDF5File {
        return try HDF5Library.locked {   // which also silences HDF5's error printing
            var fileAccess = shim_H5P_DEFAULT()
            if let processes {
                fileAccess = H5Pcreate(shim_H5P_FILE_ACCESS())
                H5Pset_fapl_mpio(fileAccess, processes, shim_MPI_INFO_NULL())
            }
            defer { if processes != nil { H5Pclose(fileAccess) } }
            let id = H5Fcreate(path, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), fileAccess)
            guard id >= 0 else { throw HDF5Error(path, "cannot be created (\(String(cString: strerror(errno))))\(HDF5Library.lockingHint())") }
            if processes == nil { HDF5Library.closeOnExec(id) }
            return HDF5File(path: path, id: id)
        }
    }

    /// Opens `path` read-only (or read-write).
    public static func open(_ path: String, writable: Bool = false, fileAccess: hid_t? = nil) throws -> HDF5File {
        return try HDF5Library.locked {   // which also silences HDF5's error printing
            var st = stat()
            guard stat(path, &st) == 0 else { throw HDF5Error(path, "no such file") }
            guard (st.st_mode & S_IFMT) != S_IFDIR else { throw HDF5Error(path, "is a directory, not an HDF5 file") }
            guard access(path, R_OK) == 0 else { throw HDF5Error(path, "cannot be read (permission denied)") }
            guard H5Fis_hdf5(path) > 0 else { throw HDF5Error(path, "not an HDF5 file (or truncated: its superblock is unreadable)") }
            let id = H5Fopen(path, writable ? shim_H5F_ACC_RDWR() : shim_H5F_ACC_RDONLY(), fileAccess ?? shim_H5P_DEFAULT())
            guard id >= 0 else { throw HDF5Error(path, "cannot be opened as HDF5 (damaged or truncated)\(HDF5Library.lockingHint())") }
            if fileAccess == nil { HDF5Library.closeOnExec(id) }
            return HDF5File(path: path, id: id)
        }
    }

    /// Flushes and closes the file; further calls do nothing.
    public func close() throws {
        try HDF5Library.locked {
            guard id >= 0 else { return }
            let status = H5Fclose(id)
            id = -1
            guard status >= 0 else { throw HDF5Error(path, "could not be closed cleanly (disk full?)") }
        }
    }

    deinit { if id >= 0 { HDF5Library.locked { _ = H5Fclose(id) } } }

    /// Forgets the file without closing it. For a process of a parallel write that failed half-way: H5Fclose is
    /// collective, and the other processes are waiting in another collective, so closing would hang the job
    /// (which is about to be aborted).
    public func abandon() { id = -1 }

    public func exists(_ name: String) -> Bool {
        return HDF5Library.locked {
            // Check each component: H5Lexists fails on a missing intermediate group.
            var prefix = ""
            for part in name.split(separator: "/") {
                prefix += "/" + part
                guard H5Lexists(id, prefix, shim_H5P_DEFAULT()) > 0 else { return false }
            }
            return true
        }
    }

    public func createGroup(_ name: String) throws {
        try HDF5Library.locked {
            let g = H5Gcreate2(id, name, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard g >= 0 else { throw HDF5Error(path, "cannot create group \(name)") }
            H5Gclose(g)
        }
    }

    // MARK: Attributes (on the root or on a group or dataset named `object`)

    private func withObject<T>(_ object: String, _ body: (hid_t) throws -> T) throws -> T {
        let o = H5Oopen(id, object, shim_H5P_DEFAULT())
        guard o >= 0 else { throw HDF5Error(path, "has no \(object)") }
        defer { H5Oclose(o) }
        return try body(o)
    }

    private func writeAttribute(_ name: String, on object: String, type: hid_t, _ value: UnsafeRawPointer) throws {
        try withObject(object) { o in
            if H5Aexists(o, name) > 0 { H5Adelete(o, name) }
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let a = H5Acreate2(o, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard a >= 0 else { throw HDF5Error(path, "cannot write attribute \(object)@\(name)") }
            defer { H5Aclose(a) }
            guard H5Awrite(a, type, value) >= 0 else { throw HDF5Error(path, "cannot write attribute \(object)@\(name)") }
        }
    }

    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        try HDF5Library.locked {
            let type = H5Tcopy(shim_H5T_C_S1())
            defer { H5Tclose(type) }
            H5Tset_size(type, max(value.utf8.count, 1))
            H5Tset_strpad(type, H5T_STR_NULLPAD)
            H5Tset_cset(type, H5T_CSET_UTF8)
            var bytes = Array(value.utf8)
            if bytes.isEmpty { bytes = [0] }
            try writeAttribute(name, on: object, type: type, bytes)
        }
    }

    public func setAttribute(_ name: String, _ value: Int64, on object: String = "/") throws {
        try HDF5Library.locked {
            var v = value
            try writeAttribute(name, on: object, type: shim_H5T_NATIVE_INT64(), &v)
        }
    }

    public func setAttribute(_ name: String, _ value: Double, on object: String = "/") throws {
        try HDF5Library.locked {
            var v = value
            try writeAttribute(name, on: object, type: shim_H5T_NATIVE_DOUBLE(), &v)
        }
    }

    private func readAttribute<T>(_ name: String, on object: String, _ body: (hid_t, hid_t) throws -> T) throws -> T {
        try withObject(object) { o in
            guard H5Aexists(o, name) > 0 else { throw HDF5Error(path, "has no attribute \(object == "/" ? "" : object)@\(name)") }
            let a = H5Aopen(o, name, shim_H5P_DEFAULT())
            guard a >= 0 else { throw HDF5Error(path, "cannot read attribute \(object)@\(name)") }
            defer { H5Aclose(a) }
            let type = H5Aget_type(a)
            defer { H5Tclose(type) }
            return try body(a, type)
        }
    }

    public func hasAttribute(_ name: String, on object: String = "/") -> Bool {
        HDF5Library.locked { (try? withObject(object) { H5Aexists($0, name) > 0 }) ?? false }
    }

    public func stringAttribute(_ name: String, on object: String = "/") throws -> String {
        return try HDF5Library.locked {
            try readAttribute(name, on: object) { a, type in
                guard H5Tget_class(type) == H5T_STRING else { throw HDF5Error(path, "attribute \(object)@\(name) is not a string") }
                if H5Tis_variable_str(type) > 0 {
                    let memory = H5Tcopy(shim_H5T_C_S1())
                    defer { H5Tclose(memory) }
                    H5Tset_size(memory, shim_H5T_VARIABLE())
                    H5Tset_cset(memory, H5Tget_cset(type))
                    var pointer: UnsafeMutablePointer<CChar>? = nil
                    guard H5Aread(a, memory, &pointer) >= 0, let pointer else { throw HDF5Error(path, "cannot read attribute \(object)@\(name)") }
                    defer { H5free_memory(pointer) }
                    return String(cString: pointer)
                }
                var bytes = [UInt8](repeating: 0, count: H5Tget_size(type) + 1)
                guard H5Aread(a, type, &bytes) >= 0 else { throw HDF5Error(path, "cannot read attribute \(object)@\(name)") }
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }

    public func intAttribute(_ name: String, on object: String = "/") throws -> Int64 {
        return try HDF5Library.locked {
            try readAttribute(name, on: object) { a, type in
                guard H5Tget_class(type) == H5T_INTEGER else { throw HDF5Error(path, "attribute \(object)@\(name) is not an integer") }
                var v: Int64 = 0
                guard H5Aread(a, shim_H5T_NATIVE_INT64(), &v) >= 0 else { throw HDF5Error(path, "cannot read attribute \(object)@\(name)") }
                return v
            }
        }
    }

    public func doubleAttribute(_ name: String, on object: String = "/") throws -> Double {
        return try HDF5Library.locked {
            try readAttribute(name, on: object) { a, type in
                guard H5Tget_class(type) == H5T_FLOAT || H5Tget_class(type) == H5T_INTEGER else {
                    throw HDF5Error(path, "attribute \(object)@\(name) is not a number")
                }
                var v = 0.0
                guard H5Aread(a, shim_H5T_NATIVE_DOUBLE(), &v) >= 0 else { throw HDF5Error(path, "cannot read attribute \(object)@\(name)") }
                return v
            }
        }
    }

    // MARK: Datasets

    /// Creates dataset `name` of `shape` and `type` and writes all of `data` (serial).
    public func write(_ name: String, shape: [Int], type: hid_t, _ data: UnsafeRawPointer) throws {
        try HDF5Library.locked {
            var dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), &dims, nil)
            defer { H5Sclose(space) }
            let d = H5Dcreate2(id, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard d >= 0 else { throw HDF5Error(path, "cannot create dataset \(name)") }
            defer { H5Dclose(d) }
            if shape.reduce(1, *) > 0 && writesWholeDatasets {
                guard H5Dwrite(d, type, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), data) >= 0 else {
                    throw HDF5Error(path, "cannot write dataset \(name) (disk full?)")
                }
            }
        }
    }

    /// Creates the 1-D float dataset `name` of `total` elements (collective when the file is open on several
    /// processes: every process calls this) and writes `slice` at `offset` (each process its own part; an empty
    /// slice writes nothing).
    public func write(_ name: String, total: Int, offset: Int, slice: UnsafeBufferPointer<Float>) throws {
        try HDF5Library.locked {
            var dims = [hsize_t(total)]
            let space = H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let d = H5Dcreate2(id, name, shim_H5T_NATIVE_FLOAT(), space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
            guard d >= 0 else { throw HDF5Error(path, "cannot create dataset \(name)") }
            defer { H5Dclose(d) }
            guard slice.count > 0 else { return }
            var start = [hsize_t(offset)], count = [hsize_t(slice.count)]
            H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &count, nil)
            let memory = H5Screate_simple(1, &count, nil)
            defer { H5Sclose(memory) }
            guard H5Dwrite(d, shim_H5T_NATIVE_FLOAT(), memory, space, shim_H5P_DEFAULT(), slice.baseAddress) >= 0 else {
                throw HDF5Error(path, "cannot write dataset \(name) (disk full?)")
            }
        }
    }

    /// Pushes everything written so far to the storage (with MPI-IO: MPI_File_sync, i.e. fsync).
    public func flush() throws {
        try HDF5Library.locked {
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error(path, "cannot be flushed to disk (disk full?)") }
        }
    }

    public func write(_ name: String, floats: UnsafePointer<Float>, count: Int) throws {
        try HDF5Library.locked {
            try write(name, shape: [count], type: shim_H5T_NATIVE_FLOAT(), floats)
        }
    }

    public func write(_ name: String, int64s: [Int64], shape: [Int]? = nil) throws {
        try HDF5Library.locked {
            try int64s.withUnsafeBufferPointer { try write(name, shape: shape ?? [int64s.count], type: shim_H5T_NATIVE_INT64(), $0.baseAddress ?? UnsafePointer(bitPattern: 8)!) }
        }
    }

    /// A 1-D dataset of fixed-length UTF-8 strings (h5py reads it as bytes; `.astype(str)` or `.decode()`).
    public func write(_ name: String, strings: [String]) throws {
        try HDF5Library.locked {
            let width = max(strings.map { $0.utf8.count }.max() ?? 1, 1)
            var bytes = [UInt8](repeating: 0, count: width * strings.count)
            for (i, s) in strings.enumerated() { for (j, b) in s.utf8.enumerated() { bytes[i * width + j] = b } }
            let type = H5Tcopy(shim_H5T_C_S1())
            defer { H5Tclose(type) }
            H5Tset_size(type, width)
            H5Tset_strpad(type, H5T_STR_NULLPAD)
            H5Tset_cset(type, H5T_CSET_UTF8)
            try bytes.withUnsafeBufferPointer { try write(name, shape: [strings.count], type: type, $0.baseAddress ?? UnsafePointer(bitPattern: 8)!) }
        }
    }

    /// The dimensions of dataset `name`, and its HDF5 type class.
    public func shape(_ name: String) throws -> [Int] {
        return try HDF5Library.locked {
            try withDataset(name) { d, _ in
                let space = H5Dget_space(d)
                defer { H5Sclose(space) }
                let rank = Int(H5Sget_simple_extent_ndims(space))
                var dims = [hsize_t](repeating: 0, count: max(rank, 1))
                H5Sget_simple_extent_dims(space, &dims, nil)
                return rank == 0 ? [] : dims.map { Int($0) }
            }
        }
    }

    private func withDataset<T>(_ name: String, _ body: (hid_t, hid_t) throws -> T) throws -> T {
        guard exists(name) else { throw HDF5Error(path, "has no dataset \(name)") }
        let d = H5Dopen2(id, name, shim_H5P_DEFAULT())
        guard d >= 0 else { throw HDF5Error(path, "cannot open dataset \(name)") }
        defer { H5Dclose(d) }
        let type = H5Dget_type(d)
        defer { H5Tclose(type) }
        return try body(d, type)
    }

    /// Reads all of dataset `name` (whose class must be `typeClass`) into `into`, which holds `count` elements.
    public func read(_ name: String, as memoryType: hid_t, typeClass: H5T_class_t, count: Int, into: UnsafeMutableRawPointer) throws {
        try HDF5Library.locked {
            let n = try shape(name).reduce(1, *)
            try withDataset(name) { d, type in
                guard H5Tget_class(type) == typeClass else { throw HDF5Error(path, "dataset \(name) has the wrong type") }
                guard n == count else { throw HDF5Error(path, "dataset \(name) holds \(n) values, expected \(count)") }
                if n > 0 {
                    guard H5Dread(d, memoryType, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), into) >= 0 else {
                        throw HDF5Error(path, "dataset \(name) cannot be read (truncated file?)")
                    }
                }
            }
        }
    }

    public func readFloats(_ name: String) throws -> [Float] {
        return try HDF5Library.locked {
            let n = try shape(name).reduce(1, *)
            var out = [Float](repeating: 0, count: n)
            try out.withUnsafeMutableBytes { try read(name, as: shim_H5T_NATIVE_FLOAT(), typeClass: H5T_FLOAT, count: n, into: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!) }
            return out
        }
    }

    public func readInt64s(_ name: String) throws -> [Int64] {
        return try HDF5Library.locked {
            let n = try shape(name).reduce(1, *)
            var out = [Int64](repeating: 0, count: n)
            try out.withUnsafeMutableBytes { try read(name, as: shim_H5T_NATIVE_INT64(), typeClass: H5T_INTEGER, count: n, into: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!) }
            return out
        }
    }

    public func readStrings(_ name: String) throws -> [String] {
        return try HDF5Library.locked {
            try withDataset(name) { d, type in
                guard H5Tget_class(type) == H5T_STRING, H5Tis_variable_str(type) <= 0 else {
                    throw HDF5Error(path, "dataset \(name) is not a fixed-length string list")
                }
                let width = H5Tget_size(type)
                let n = try shape(name).reduce(1, *)
                var bytes = [UInt8](repeating: 0, count: width * n)
                if n > 0 {
                    guard H5Dread(d, type, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), &bytes) >= 0 else {
                        throw HDF5Error(path, "dataset \(name) cannot be read")
                    }
                }
                return (0..<n).map { String(decoding: bytes[$0 * width..<($0 + 1) * width].prefix { $0 != 0 }, as: UTF8.self) }
            }
        }
    }
}
