// Files.swift — reading a text file and saying why it cannot be read, without Foundation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole file as UTF-8, or nil.
func readTextFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    if ferror(f) != 0 { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// Why `path` cannot be read: "no such file", "is a directory", "cannot be read (permission denied)".
public func fileProblem(_ path: String) -> String {
    var st = stat()
    if stat(path, &st) != 0 { return errno == ENOENT ? "no such file" : "cannot be read (\(String(cString: strerror(errno))))" }
    if (st.st_mode & S_IFMT) == S_IFDIR { return "is a directory, not a file" }
    if access(path, R_OK) != 0 { return "cannot be read (permission denied)" }
    return "cannot be read"
}
