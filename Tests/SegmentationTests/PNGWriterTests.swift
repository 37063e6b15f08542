// PNGWriterTests.swift — RGB PNG files read back in Swift: signature, chunk order, every CRC, the header fields,
// and the inflated IDAT data byte for byte (filter 0 per row); no temporary file left; bad input named.
import Foundation
import Testing
@testable import Segmentation

private func writeAndRead(width: Int, height: Int, pixels: [UInt8]) throws -> (chunks: [PNGChunk], inflated: [UInt8]) {
    let dir = FileManager.default.temporaryDirectory.path + "/descent-png-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try PNGWriter.writeRGB(path: dir + "/a.png", width: width, height: height, pixels: pixels)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.png"], "no .tmp file left")
    return try readPNG(dir + "/a.png")
}

@Suite("PNG writer")
struct PNGWriterTests {
    @Test("a small image: header, chunks, CRCs and pixels")
    func small() throws {
        let (width, height) = (5, 3)
        let pixels = (0..<width * height * 3).map { UInt8(($0 * 37 + 11) % 256) }
        let (c, inflated) = try writeAndRead(width: width, height: height, pixels: pixels)
        #expect(c.map(\.type) == ["IHDR", "IDAT", "IEND"])
        #expect(c[0].data == [0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0], "IHDR: 5 × 3, 8-bit RGB, no interlace")
        var expected: [UInt8] = []
        for y in 0..<height { expected += [0] + pixels[y * width * 3..<(y + 1) * width * 3] }
        #expect(inflated == expected)
    }

    @Test("an image of more than 1 MB compressed is split into several IDAT chunks")
    func large() throws {
        let (width, height) = (700, 600)
        var state: UInt32 = 1
        let pixels = (0..<width * height * 3).map { _ in state = state &* 1_664_525 &+ 1_013_904_223; return UInt8(state >> 24) }
        let (c, inflated) = try writeAndRead(width: width, height: height, pixels: pixels)
        #expect(c.filter { $0.type == "IDAT" }.count >= 2)
        #expect(c.first?.type == "IHDR" && c.last?.type == "IEND")
        #expect(inflated.count == height * (1 + 3 * width))
        #expect((0..<height).allSatisfy { y in
            inflated[y * (1 + 3 * width)] == 0
                && inflated[y * (1 + 3 * width) + 1..<(y + 1) * (1 + 3 * width)].elementsEqual(pixels[y * 3 * width..<(y + 1) * 3 * width])
        })
    }

    @Test("wrong pixel count and an unwritable path are one-line errors naming the file")
    func errors() {
        #expect(throws: PNGError.self) { try PNGWriter.writeRGB(path: "/tmp/x.png", width: 2, height: 2, pixels: [0, 0, 0]) }
        do {
            try PNGWriter.writeRGB(path: "/tmp/x.png", width: 2, height: 2, pixels: [0, 0, 0])
        } catch {
            #expect("\(error)" == "/tmp/x.png: 3 bytes given for a 2 × 2 RGB image (need 12)")
        }
        do {
            try PNGWriter.writeRGB(path: "/nonexistent-dir/x.png", width: 1, height: 1, pixels: [1, 2, 3])
            Issue.record("wrote into a missing directory")
        } catch {
            #expect("\(error)" == "/nonexistent-dir/x.png: cannot be created (No such file or directory)")
        }
    }
}
