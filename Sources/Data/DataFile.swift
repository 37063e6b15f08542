// DataFile.swift — what every reader checks before it opens a data file (missing, a directory, unreadable), and
// reading a whole raw file, each failure said in one line that names the file.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum DataFile {
    /// Throws unless `path` names a readable file that is not a directory; returns its size in bytes.
    @discardableResult
    static func check(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw openError(path, errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw DataError(path, "is a directory") }
        guard access(path, R_OK) == 0 else { throw openError(path, errno) }
        return Int(st.st_size)
    }

    /// The message for a failed stat/open/access with `code` as errno.
    static func openError(_ path: String, _ code: Int32) -> DataError {
        switch code {
        case ENOENT, ENOTDIR: return DataError(path, "no such file")
        case EACCES, EPERM: return DataError(path, "cannot be read (permission denied)")
        case EISDIR: return DataError(path, "is a directory")
        default: return DataError(path, "cannot be read (\(String(cString: strerror(code))))")
        }
    }

    /// The whole content of a raw file of `size` bytes (as `check` returned it).
    static func readAll(_ path: String, size: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw openError(path, errno) }
        defer { close(fd) }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while initialized < size {
                let n = read(fd, buffer.baseAddress! + initialized, min(size - initialized, 1 << 30))
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = errno }
                if n <= 0 { break }
                initialized += n
            }
        }
        if failure != 0 { throw DataError(path, "cannot be read (\(String(cString: strerror(failure))))") }
        guard bytes.count == size else {
            throw DataError(path, "changed while being read (expected \(size) bytes, read \(bytes.count))")
        }
        return bytes
    }
}
