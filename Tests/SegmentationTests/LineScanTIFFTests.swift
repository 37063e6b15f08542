// LineScanTIFFTests.swift — strip-organised 8-bit TIFFs: written strip by strip and read back by any band of
// rows, byte for byte (raw and deflate); a writer that does not finish leaves nothing; and the files Descent
// refuses, each with one message naming the file.
import Foundation
import Testing
@testable import Segmentation

private func scratch() -> String {
    let dir = FileManager.default.temporaryDirectory.path + "/descent-tiff-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A deterministic image: pixel (x, y) = (x·7 + y·13) mod 251.
private func pixel(_ x: Int, _ y: Int) -> UInt8 { UInt8((x * 7 + y * 13) % 251) }

private func writeImage(_ path: String, width: Int, height: Int, rowsPerStrip: Int, compress: Bool = false) throws {
    let w = try TIFFStripWriter(path: path, width: width, height: height, rowsPerStrip: rowsPerStrip, compress: compress)
    var rows = [UInt8](repeating: 0, count: width * rowsPerStrip)
    for s in 0..<w.strips {
        for r in 0..<rowsPerStrip { for x in 0..<width { rows[r * width + x] = pixel(x, s * rowsPerStrip + r) } }
        try rows.withUnsafeBufferPointer { try w.append($0.baseAddress!) }
    }
    try w.close()
}

@Suite("line-scan TIFF strips")
struct LineScanTIFFTests {
    @Test("written by strips, read back by any band of rows", arguments: [false, true])
    func roundTrip(compress: Bool) throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/image.tif"
        try writeImage(path, width: 300, height: 1000, rowsPerStrip: 64, compress: compress)
        let r = try TIFFStripReader(path: path)
        #expect(r.width == 300 && r.height == 1000 && r.rowsPerStrip == 64)
        for band in [0..<1000, 0..<1, 63..<65, 500..<777, 960..<1000, 999..<1000] {
            var out = [UInt8](repeating: 0, count: band.count * 300)
            try out.withUnsafeMutableBufferPointer { try r.read(rows: band, into: $0.baseAddress!) }
            let wrong = band.enumerated().contains { i, y in (0..<300).contains { out[i * 300 + $0] != pixel($0, y) } }
            #expect(!wrong, "rows \(band)")
        }
    }

    @Test("a writer that does not finish leaves nothing under the image's name, nor its temporary file")
    func unfinishedWriterLeavesNothing() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = [UInt8](repeating: 7, count: 100 * 16)
        do {   // dropped half-way, as when the command fails on a later image
            let w = try TIFFStripWriter(path: dir + "/dropped.tif", width: 100, height: 64, rowsPerStrip: 16)
            try rows.withUnsafeBufferPointer { try w.append($0.baseAddress!) }
            #expect(!FileManager.default.fileExists(atPath: dir + "/dropped.tif"))
        }
        let w = try TIFFStripWriter(path: dir + "/short.tif", width: 100, height: 64, rowsPerStrip: 16)
        try rows.withUnsafeBufferPointer { try w.append($0.baseAddress!) }
        #expect(throws: TIFFError.self) { try w.close() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        try writeImage(dir + "/whole.tif", width: 100, height: 64, rowsPerStrip: 16)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["whole.tif"])
    }

    @Test("refused with one message naming the file", arguments: ["missing", "directory", "not tiff", "truncated", "header only", "rows"])
    func refused(kind: String) throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var path = dir + "/image.tif"
        var expected = ""
        switch kind {
        case "missing": expected = "no such file"
        case "directory": path = dir; expected = "is a directory"
        case "not tiff": try "hello".write(toFile: path, atomically: true, encoding: .utf8); expected = "not a TIFF image"
        case "truncated":
            try writeImage(path, width: 300, height: 1000, rowsPerStrip: 64)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
            // Zero some strip bytes and cut 20 kB out of the middle: the strips and the directory no longer line up.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            for i in size / 3..<size / 3 + 100 { bytes[i] = 0 }
            bytes.removeSubrange(size / 2..<size / 2 + 20_000)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            expected = "damaged"
        case "header only":
            try "II*\0".write(toFile: path, atomically: true, encoding: .utf8)
            expected = "not a TIFF image"
        default:
            try writeImage(path, width: 10, height: 10, rowsPerStrip: 4)
            expected = "rows 5..<11 outside 0..<10"
        }
        do {
            let r = try TIFFStripReader(path: path)
            var out = [UInt8](repeating: 0, count: 1000 * 300)
            try out.withUnsafeMutableBufferPointer { b in
                if kind == "rows" { try r.read(rows: 5..<11, into: b.baseAddress!) }
                else { for y in stride(from: 0, to: r.height, by: 64) { try r.read(rows: y..<min(y + 64, r.height), into: b.baseAddress!) } }
            }
            Issue.record("\(kind): read without an error")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix(path + ": ") && message.contains(expected), "\(kind): \(message)")
        }
    }
}
