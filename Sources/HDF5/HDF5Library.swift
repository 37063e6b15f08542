// HDF5Library.swift — HDF5 below the file level: one process-wide lock that every HDF5 call in Descent holds
// (Debian's parallel HDF5 is built without thread safety; HDF5File takes it in each call, code with raw handles
// such as Data's sample files around its own), HDF5's own error printing silenced, scalar attributes as found,
// and type names for messages.
import CHDF5
import Foundation

public enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// Runs `body` holding the HDF5 lock, with HDF5's error-stack printing turned off so that only Descent's
    /// one-line message reaches the user.
    public static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        H5Eset_auto2(shim_H5E_DEFAULT(), nil, nil)
        return try body()
    }

    /// Marks the descriptor of a file open through HDF5's default (POSIX) driver close-on-exec. Call it only for
    /// such files: for a file open through MPI-IO, asking for its access list duplicates the communicator, a
    /// collective call. HDF5 opens without O_CLOEXEC, and a program started meanwhile (Open MPI's singleton
    /// MPI_Init starts orted so) would keep the descriptor, and with it HDF5's lock on the file, for its whole
    /// life: the file could not be opened again until that program ended.
    public static func closeOnExec(_ file: hid_t) {
        let access = H5Fget_access_plist(file)
        guard access >= 0 else { return }
        defer { H5Pclose(access) }
        var handle: UnsafeMutableRawPointer? = nil
        guard H5Pget_driver(access) == H5FD_sec2_init(), H5Fget_vfd_handle(file, access, &handle) >= 0, let handle else { return }
        let descriptor = handle.load(as: Int32.self)
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
    }

    /// The likely fix when opening or creating a file failed on its lock (flock's errno ENOLCK, EAGAIN or ENOSYS),
    /// and the user has not already chosen a locking mode; empty otherwise.
    public static func lockingHint() -> String {
        let lockError = [ENOLCK, EAGAIN, ENOSYS, EWOULDBLOCK].contains(errno)
        return lockError && getenv("HDF5_USE_FILE_LOCKING") == nil
            ? "; HINT: the file is locked: another program may be writing it, or (on NFS or Lustre) the file system has no locks: then set HDF5_USE_FILE_LOCKING=FALSE" : ""
    }

    /// An attribute as found in a file.
    public enum Attribute: Equatable {
        case missing
        case string(String)
        case integer(Int)
        /// Present but neither a string nor a single integer: its type and element count.
        case other(String)

        /// What was found, for messages: "the integer 3", "the string 'x'", "float64".
        public var found: String {
            switch self {
            case .missing: return "nothing"
            case .string(let s): return "the string '\(s)'"
            case .integer(let i): return "the integer \(i)"
            case .other(let what): return what
            }
        }
    }

    /// The attribute `name` of the object `object` (a file id means its root group).
    public static func attribute(_ object: hid_t, _ name: String) -> Attribute {
        guard H5Aexists(object, name) > 0 else { return .missing }
        let attr = H5Aopen(object, name, shim_H5P_DEFAULT())
        guard attr >= 0 else { return .other("unreadable") }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr), space = H5Aget_space(attr)
        defer { H5Tclose(type); H5Sclose(space) }
        let elements = H5Sget_simple_extent_npoints(space)
        guard elements == 1 else { return .other("\(elements) × \(describe(type: type))") }
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            var value: Int64 = 0
            return H5Aread(attr, shim_H5T_NATIVE_INT64(), &value) >= 0 ? .integer(Int(value)) : .other("unreadable")
        case H5T_STRING where H5Tis_variable_str(type) > 0:
            let memory = H5Tcopy(shim_H5T_C_S1())
            defer { H5Tclose(memory) }
            H5Tset_size(memory, shim_H5T_VARIABLE())
            H5Tset_cset(memory, H5Tget_cset(type))  // HDF5 converts no character sets: h5py writes UTF-8
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attr, memory, &pointer) >= 0, let pointer else { return .other("unreadable") }
            defer { H5free_memory(pointer) }
            return .string(String(cString: pointer))
        case H5T_STRING:
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attr, type, &bytes) >= 0 else { return .other("unreadable") }
            let text = bytes.prefix { $0 != 0 }
            return .string(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespaces))
        default:
            return .other(describe(type: type))
        }
    }

    /// Writes a scalar attribute holding `value` (a fixed-length, null-terminated string); false on failure.
    public static func setAttribute(_ object: hid_t, _ name: String, _ value: String) -> Bool {
        let type = H5Tcopy(shim_H5T_C_S1())
        defer { H5Tclose(type) }
        H5Tset_size(type, value.utf8.count + 1)
        H5Tset_strpad(type, H5T_STR_NULLTERM)
        return write(object, name, type) { attr in H5Awrite(attr, type, value) }
    }

    /// Writes a scalar 32-bit integer attribute; false on failure.
    public static func setAttribute(_ object: hid_t, _ name: String, _ value: Int32) -> Bool {
        var v = value
        return write(object, name, shim_H5T_NATIVE_INT32()) { attr in H5Awrite(attr, shim_H5T_NATIVE_INT32(), &v) }
    }

    private static func write(_ object: hid_t, _ name: String, _ type: hid_t, _ body: (hid_t) -> herr_t) -> Bool {
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attr = H5Acreate2(object, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard attr >= 0 else { return false }
        defer { H5Aclose(attr) }
        return body(attr) >= 0
    }

    /// A type as a person names it: uint8, int32, float64, string, compound, …
    public static func describe(type: hid_t) -> String {
        let bits = H5Tget_size(type) * 8
        switch H5Tget_class(type) {
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(bits)"
        case H5T_FLOAT: return "float\(bits)"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        case H5T_ARRAY: return "array"
        default: return "opaque"
        }
    }

    /// The extent of a dataset's dataspace.
    public static func dimensions(_ dataset: hid_t) -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int(clamping: $0) }   // beyond Int.max: refused as implausible by the readers
    }

    /// "a 3-D int32 dataset", for messages.
    public static func describe(dataset: hid_t) -> String {
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        return "a \(dimensions(dataset).count)-D \(describe(type: type)) dataset"
    }
}
