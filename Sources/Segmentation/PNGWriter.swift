// PNGWriter.swift — 8-bit RGB PNG files (zlib deflate, one IDAT chunk per MB), for small overview images that fit
// in memory. Written to PATH.tmp and renamed, so a crash never leaves a half-written PNG under the real name.
import CZlib
import Foundation

public struct PNGError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

public enum PNGWriter {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
    static let idatChunkBytes = 1 << 20

    /// Writes `pixels` (`width · height · 3` bytes, rows top to bottom, R G B per pixel) as a PNG file.
    public static func writeRGB(path: String, width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 1, height >= 1, width < 1 << 31, height < 1 << 31 else {
            throw PNGError(path, "cannot write a \(width) × \(height) image (width and height must be 1…2³¹−1)")
        }
        guard pixels.count == width * height * 3 else {
            throw PNGError(path, "\(pixels.count) bytes given for a \(width) × \(height) RGB image (need \(width * height * 3))")
        }
        // Filter type 0 (none): each row is a zero byte followed by its pixels.
        let rowBytes = 1 + 3 * width
        var raw = [UInt8](repeating: 0, count: rowBytes * height)
        raw.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    (out.baseAddress! + y * rowBytes + 1).update(from: src.baseAddress! + y * 3 * width, count: 3 * width)
                }
            }
        }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var compressedCount = uLongf(compressed.count)
        let status = compressed.withUnsafeMutableBufferPointer { out in
            raw.withUnsafeBufferPointer { compress2(out.baseAddress!, &compressedCount, $0.baseAddress!, uLong($0.count), 6) }
        }
        guard status == Z_OK else { throw PNGError(path, "zlib compression failed (\(String(cString: zError(status))))") }

        var file = signature
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width)); header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]   // bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace
        appendChunk("IHDR", header[...], to: &file)
        var start = 0
        repeat {
            let end = min(start + idatChunkBytes, Int(compressedCount))
            appendChunk("IDAT", compressed[start..<end], to: &file)
            start = end
        } while start < Int(compressedCount)
        appendChunk("IEND", [][...], to: &file)
        try writeAtomically(path, file)
    }

    private static func appendChunk(_ type: String, _ data: ArraySlice<UInt8>, to file: inout [UInt8]) {
        file.appendBigEndian(UInt32(data.count))
        let typeStart = file.count
        file += Array(type.utf8)
        file += data
        let crc = file[typeStart...].withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        file.appendBigEndian(UInt32(crc))
    }

    private static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        guard let f = fopen(temporary, "wb") else { throw PNGError(path, "cannot be created (\(String(cString: strerror(errno))))") }
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        let writeErrno = errno
        guard fclose(f) == 0, written == bytes.count else {
            let problem = String(cString: strerror(written == bytes.count ? errno : writeErrno))
            unlink(temporary)
            throw PNGError(path, "cannot be written (\(problem))")
        }
        guard rename(temporary, path) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(temporary)
            throw PNGError(path, "cannot be renamed from \(temporary) (\(problem))")
        }
    }
}

private extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ v: UInt32) { append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]) }
}
