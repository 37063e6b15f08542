// LineScanTIFF.swift — 8-bit grayscale TIFF images written and read in strips of rows (libtiff), so that a
// 16,384-pixel-wide, 500 MB line-scan image never has to be in memory: a writer appends strips top to bottom, a
// reader returns any band of rows by reading only the strips that hold it. Images and their class masks
// (one byte per pixel) share the format. BigTIFF when the image would pass 4 GB.
import CTIFF
import Foundation

public struct TIFFError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

/// Writes an image of `width` × `height` 8-bit pixels, strip after strip, to `path`.tmp, renamed to `path` when
/// every strip is written: an interrupted writer never leaves a truncated image under the image's name.
public final class TIFFStripWriter {
    public let path: String
    private let temporary: String
    public let width: Int, height: Int, rowsPerStrip: Int
    private var tiff: OpaquePointer?
    private var nextStrip = 0

    public init(path: String, width: Int, height: Int, rowsPerStrip: Int = 64, compress: Bool = false) throws {
        guard width > 0, height > 0, rowsPerStrip > 0 else { throw TIFFError(path, "width, height and rows per strip must be ≥ 1") }
        shim_TIFFQuiet()
        self.path = path; self.width = width; self.height = height; self.rowsPerStrip = rowsPerStrip
        temporary = path + ".tmp"
        let big = width * height > (1 << 31)   // classic TIFF offsets are 32-bit
        guard let t = TIFFOpen(temporary, big ? "w8" : "w") else { throw TIFFError(path, "cannot be created (\(String(cString: strerror(errno))))") }
        tiff = t
        _ = shim_TIFFSetFieldU32(t, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width))
        _ = shim_TIFFSetFieldU32(t, UInt32(TIFFTAG_IMAGELENGTH), UInt32(height))
        _ = shim_TIFFSetFieldU16(t, UInt32(TIFFTAG_BITSPERSAMPLE), 8)
        _ = shim_TIFFSetFieldU16(t, UInt32(TIFFTAG_SAMPLESPERPIXEL), 1)
        _ = shim_TIFFSetFieldU16(t, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_MINISBLACK))
        _ = shim_TIFFSetFieldU16(t, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG))
        _ = shim_TIFFSetFieldU16(t, UInt32(TIFFTAG_COMPRESSION), UInt16(compress ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE))
        _ = shim_TIFFSetFieldU32(t, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(rowsPerStrip))
    }

    deinit {
        guard let tiff else { return }
        TIFFClose(tiff)
        unlink(temporary)
    }

    public var strips: Int { (height + rowsPerStrip - 1) / rowsPerStrip }

    /// Appends the next strip: `rowsPerStrip` rows (fewer for the last strip) of `width` bytes.
    public func append(_ rows: UnsafePointer<UInt8>) throws {
        guard let tiff else { throw TIFFError(path, "written after close") }
        guard nextStrip < strips else { throw TIFFError(path, "more strips than the image's \(strips)") }
        let count = min(rowsPerStrip, height - nextStrip * rowsPerStrip) * width
        guard TIFFWriteEncodedStrip(tiff, UInt32(nextStrip), UnsafeMutableRawPointer(mutating: rows), tmsize_t(count)) >= 0 else {
            throw TIFFError(path, "cannot write strip \(nextStrip) (disk full?)")
        }
        nextStrip += 1
    }

    /// Finishes the file; every strip must have been written.
    public func close() throws {
        guard let t = tiff else { return }
        tiff = nil
        TIFFClose(t)
        guard nextStrip == strips else {
            unlink(temporary)
            throw TIFFError(path, "closed after \(nextStrip) of \(strips) strips")
        }
        guard rename(temporary, path) == 0 else { throw TIFFError(path, "cannot be written (\(String(cString: strerror(errno))))") }
    }
}

/// Reads bands of rows of an 8-bit, one-sample-per-pixel, strip-organised TIFF.
public final class TIFFStripReader {
    public let path: String
    public let width: Int, height: Int, rowsPerStrip: Int
    private let tiff: OpaquePointer
    private var strip: [UInt8]
    private var cachedStrip = -1

    public init(path: String) throws {
        shim_TIFFQuiet()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw TIFFError(path, "no such file") }
        guard !isDirectory.boolValue else { throw TIFFError(path, "is a directory, not a TIFF image") }
        // "m": read with read(2), not mmap. libtiff maps the whole file by default, and every page a band read
        // touches then counts in the process's memory: a 500 MB image read twice (segment, then overview) cost
        // 780 MB more RSS than a 125 MB one.
        guard let t = TIFFOpen(path, "rm") else { throw TIFFError(path, "not a TIFF image (or its header is damaged)") }
        var w: UInt32 = 0, h: UInt32 = 0, rps: UInt32 = 0, bits: UInt16 = 0, samples: UInt16 = 1
        _ = shim_TIFFGetFieldU32(t, UInt32(TIFFTAG_IMAGEWIDTH), &w)
        _ = shim_TIFFGetFieldU32(t, UInt32(TIFFTAG_IMAGELENGTH), &h)
        _ = shim_TIFFGetFieldU16(t, UInt32(TIFFTAG_BITSPERSAMPLE), &bits)
        _ = shim_TIFFGetFieldU16(t, UInt32(TIFFTAG_SAMPLESPERPIXEL), &samples)
        guard w > 0, h > 0 else { TIFFClose(t); throw TIFFError(path, "has no image size") }
        guard bits == 8, samples == 1 else {
            TIFFClose(t); throw TIFFError(path, "is \(bits)-bit with \(samples) sample(s) per pixel; Descent reads 8-bit grayscale line-scan images and masks")
        }
        guard TIFFIsTiled(t) == 0 else { TIFFClose(t); throw TIFFError(path, "is tiled; Descent reads strip-organised TIFFs") }
        if shim_TIFFGetFieldU32(t, UInt32(TIFFTAG_ROWSPERSTRIP), &rps) == 0 || rps == 0 || rps > h { rps = h }
        tiff = t; self.path = path
        width = Int(w); height = Int(h); rowsPerStrip = Int(rps)
        strip = [UInt8](repeating: 0, count: width * rowsPerStrip)
    }

    deinit { TIFFClose(tiff) }

    /// Copies rows y0..<y1 into `out` (`(y1 − y0) · width` bytes), reading only the strips that hold them.
    public func read(rows: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws {
        guard rows.lowerBound >= 0, rows.upperBound <= height, !rows.isEmpty else {
            throw TIFFError(path, "rows \(rows) outside 0..<\(height)")
        }
        var y = rows.lowerBound
        while y < rows.upperBound {
            let s = y / rowsPerStrip
            try load(strip: s)
            let first = s * rowsPerStrip
            let n = min(rows.upperBound, first + rowsPerStrip, height) - y
            strip.withUnsafeBufferPointer { b in
                (out + (y - rows.lowerBound) * width).update(from: b.baseAddress! + (y - first) * width, count: n * width)
            }
            y += n
        }
    }

    private func load(strip s: Int) throws {
        guard s != cachedStrip else { return }
        let expected = min(rowsPerStrip, height - s * rowsPerStrip) * width
        let got = strip.withUnsafeMutableBytes { TIFFReadEncodedStrip(tiff, UInt32(s), $0.baseAddress, tmsize_t($0.count)) }
        guard got == expected else {
            cachedStrip = -1
            throw TIFFError(path, "strip \(s) is truncated or damaged (\(got < 0 ? "unreadable" : "\(got) of \(expected) bytes"))")
        }
        cachedStrip = s
    }
}
