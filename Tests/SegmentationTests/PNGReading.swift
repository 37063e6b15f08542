// PNGReading.swift — reads back the RGB PNG files Descent writes (chunks with their CRCs checked, IDAT inflated),
// for the PNG writer's and the overview's tests.
import CZlib
import Foundation
import Testing

struct PNGChunk { var type: String; var data: [UInt8] }

private func bigEndian(_ b: [UInt8], _ at: Int) -> Int {
    Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
}

/// The chunks of a PNG file, each CRC checked.
func pngChunks(_ file: [UInt8]) -> [PNGChunk] {
    #expect(Array(file.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature")
    var out: [PNGChunk] = []
    var at = 8
    while at + 12 <= file.count {
        let length = bigEndian(file, at)
        let typeAndData = Array(file[at + 4..<at + 8 + length])
        let crc = typeAndData.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
        let type = String(decoding: typeAndData.prefix(4), as: UTF8.self)
        #expect(crc == bigEndian(file, at + 8 + length), "CRC of chunk \(out.count) (\(type))")
        out.append(PNGChunk(type: type, data: Array(typeAndData.dropFirst(4))))
        at += 12 + length
    }
    #expect(at == file.count, "no bytes after the last chunk")
    return out
}

/// The chunks of the PNG at `path` and its inflated image data (each row: filter byte, then RGB bytes).
func readPNG(_ path: String) throws -> (chunks: [PNGChunk], inflated: [UInt8]) {
    let c = pngChunks([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    let header = try #require(c.first { $0.type == "IHDR" }).data
    let (width, height) = (bigEndian(header, 0), bigEndian(header, 4))
    let compressed = c.filter { $0.type == "IDAT" }.flatMap(\.data)
    var inflated = [UInt8](repeating: 0, count: height * (1 + 3 * width) + 16)
    var length = uLongf(inflated.count)
    let status = inflated.withUnsafeMutableBufferPointer { out in
        compressed.withUnsafeBufferPointer { uncompress(out.baseAddress!, &length, $0.baseAddress!, uLong($0.count)) }
    }
    #expect(status == Z_OK)
    return (c, Array(inflated.prefix(Int(length))))
}
