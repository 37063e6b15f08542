// IDX.swift — the MNIST / Fashion-MNIST IDX format (big-endian header, uint8 payload), gzipped or raw, via zlib.
import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads IDX files: `train-images-idx3-ubyte[.gz]` (magic 0x00000803: count, rows, cols, then pixels) and
/// `train-labels-idx1-ubyte[.gz]` (magic 0x00000801: count, then labels). Gzipped files are recognised by the
/// gzip magic 1f 8b and decompressed while reading; anything malformed is a `DataError` naming the file.
public enum IDX {
    static let imagesMagic: UInt32 = 0x0000_0803
    static let labelsMagic: UInt32 = 0x0000_0801

    /// The pixels of an IDX image file, row-major count × height × width.
    public static func readImages(_ path: String) throws -> (images: [UInt8], count: Int, height: Int, width: Int) {
        let file = try IDXStream(path)
        defer { file.close() }
        let dims = try file.header(magic: imagesMagic)
        let (count, height, width) = (dims[0], dims[1], dims[2])
        guard (1...65_536).contains(height), (1...65_536).contains(width) else {
            throw DataError(path, "image size \(height)×\(width) is not plausible (each side must be 1...65536)")
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: height * width)
        guard !overflow, size <= 1 << 40 else {
            throw DataError(path, "\(count) images of \(height)×\(width) is not plausible (over a terabyte)")
        }
        let images = try file.payload(size, what: "pixels")
        return (images, count, height, width)
    }

    /// The height and width of an IDX image file's images, from its header alone.
    public static func imageSize(_ path: String) throws -> (height: Int, width: Int) {
        let file = try IDXStream(path)
        defer { file.close() }
        let dims = try file.header(magic: imagesMagic)
        return (dims[1], dims[2])
    }

    /// The labels of an IDX label file.
    public static func readLabels(_ path: String) throws -> [Int32] {
        let file = try IDXStream(path)
        defer { file.close() }
        let count = try file.header(magic: labelsMagic)[0]
        return try file.payload(count, what: "labels").map { Int32($0) }
    }

    /// An image file and its label file as one single-channel data set whose labels lie in 0..<classes.
    public static func read(images: String, labels: String, classes: Int = 10) throws -> Dataset {
        guard classes >= 1 else { throw DataError(labels, "classes must be at least 1, got \(classes)") }
        let pixels = try readImages(images)
        let targets = try readLabels(labels)
        guard pixels.count == targets.count else {
            throw DataError(message: "\(images) has \(pixels.count) images but \(labels) has \(targets.count) labels")
        }
        if let i = targets.firstIndex(where: { $0 >= classes }) {
            throw DataError(labels, "label \(targets[i]) of sample \(i) is outside 0..<\(classes)")
        }
        return Dataset(images: pixels.images, labels: targets, channels: 1, height: pixels.height,
                       width: pixels.width, classes: classes, source: images)
    }
}

/// One open IDX file, gzipped or raw (zlib reads both), with the checks of the header and the payload.
private struct IDXStream {
    let path: String
    let file: gzFile

    init(_ path: String) throws {
        try DataFile.check(path)
        guard let file = gzopen(path, "rb") else { throw DataFile.openError(path, errno) }
        // zlib looks for the gzip magic 1f 8b at the first read: gzip is inflated, anything else read as is.
        gzbuffer(file, 1 << 20)  // before that read; large buffers and reads make inflating fast
        self.path = path
        self.file = file
    }

    func close() { gzclose(file) }

    /// Reads the magic and the dimensions; the magic also encodes the element type (uint8) and dimension count.
    func header(magic expected: UInt32) throws -> [Int] {
        let dimensions = Int(expected & 0xFF)
        let kind = expected == IDX.imagesMagic ? "image" : "label"
        let head = try read(4 + 4 * dimensions)
        if head.isEmpty { throw DataError(path, "is empty") }
        guard head.count >= 4 else { throw DataError(path, "truncated: the IDX header is incomplete (\(head.count) bytes)") }
        let magic = bigEndian(head, at: 0)
        if magic != expected {
            var problem = "not an IDX \(kind) file (magic \(hex(magic)), expected \(hex(expected)))"
            if magic == IDX.labelsMagic { problem += "; is it a labels file?" }
            if magic == IDX.imagesMagic { problem += "; is it an images file?" }
            if magic >> 8 == 0x08, magic != IDX.labelsMagic, magic != IDX.imagesMagic {
                problem += ": \(magic & 0xFF) dimensions, expected \(dimensions)"
            }
            throw DataError(path, problem)
        }
        guard head.count == 4 + 4 * dimensions else {
            throw DataError(path, "truncated: the IDX header is incomplete (\(head.count) of \(4 + 4 * dimensions) bytes)")
        }
        let dims = (0..<dimensions).map { Int(bigEndian(head, at: 4 + 4 * $0)) }
        guard dims[0] > 0 else { throw DataError(path, "holds no \(kind)s (count 0)") }
        return dims
    }

    /// Exactly `count` bytes, then the end of the file.
    func payload(_ count: Int, what: String) throws -> [UInt8] {
        let bytes = try read(count)
        guard bytes.count == count else {
            throw DataError(path, "truncated: expected \(count) bytes of \(what), found \(bytes.count)")
        }
        var trailing = 0, extra = 0
        repeat {
            extra = try read(1 << 16).count
            trailing += extra
        } while extra > 0
        guard trailing == 0 else {
            throw DataError(path, "\(trailing) byte\(trailing == 1 ? "" : "s") of trailing data after the \(count) bytes of \(what)")
        }
        return bytes
    }

    /// Up to `count` bytes, fewer only at the end of the data; a damaged gzip stream is an error. Memory grows
    /// with the data actually read (64 MiB at a time), not with what a header claims.
    private func read(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = [], failed = false
        while bytes.count < count && !failed {
            let want = min(count - bytes.count, 1 << 26)
            let chunk = [UInt8](unsafeUninitializedCapacity: want) { buffer, initialized in
                while initialized < want {
                    let n = gzread(file, buffer.baseAddress! + initialized, UInt32(want - initialized))
                    if n < 0 { failed = true }
                    if n <= 0 { break }
                    initialized += Int(n)
                }
            }
            if bytes.isEmpty { bytes = chunk } else { bytes += chunk }
            if chunk.count < want { break }
        }
        var code: Int32 = Z_OK
        var message = String(cString: gzerror(file, &code))
        if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }  // zlib prefixes the path
        if failed || (code != Z_OK && code != Z_BUF_ERROR) {
            throw DataError(path, "corrupt gzip stream (zlib: \(message))")
        }
        // Z_BUF_ERROR: the input ended inside a gzip stream (gzread returns what it had, not -1).
        if code == Z_BUF_ERROR { throw DataError(path, "truncated gzip stream (zlib: \(message))") }
        return bytes
    }

    private func bigEndian(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    private func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
