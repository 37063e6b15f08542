// TileCutterTests.swift — defect-balanced tile sampling: every tile with a defect pixel is kept, plain background
// tiles at --background, unusual background tiles (the dark margin beyond a glass edge) ten times as often.
import Data
import Foundation
import Testing
@testable import Segmentation

@Suite("tile cutting")
struct TileCutterTests {
    @Test("defect tiles always, plain background at its fraction, the dark margin ten times as often")
    func sampling() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/descent-tiles-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1024 × 4096: glass (170) with a dark margin (25) of 64 columns on the left; one pit pixel in every 16th
        // row of tiles. Tiles of 32: 32 × 128 tiles, 256 of them in the margin, 8 with a defect.
        let (width, height) = (1024, 4096)
        let image = try TIFFStripWriter(path: dir + "/g.tif", width: width, height: height)
        let mask = try TIFFStripWriter(path: dir + "/g-mask.tif", width: width, height: height)
        var rows = [UInt8](repeating: 0, count: width * 64), classes = rows
        for y in 0..<64 { for x in 0..<width { rows[y * width + x] = x < 64 ? 25 : 170 } }
        for strip in 0..<height / 64 {
            for i in classes.indices { classes[i] = 0 }
            if strip % 8 == 0 { classes[10 * width + 500] = 2 }   // rows of tiles 0, 16, 32, …: 8 tiles in all
            try rows.withUnsafeBufferPointer { try image.append($0.baseAddress!) }
            try classes.withUnsafeBufferPointer { try mask.append($0.baseAddress!) }
        }
        try image.close(); try mask.close()

        var cutter = TileCutter()
        (cutter.tile, cutter.backgroundFraction, cutter.seed) = (32, 0.05, 3)
        let writer = try SampleFileWriter(path: dir + "/t.h5", shape: [1, 32, 32], classes: 6, source: "test", masks: true, imageWidth: width)
        let c = try cutter.cut(image: dir + "/g.tif", mask: dir + "/g-mask.tif", imageIndex: 0, into: writer)
        try writer.finish()
        #expect(c.seen == 32 * 128 && c.withDefects == 8 && c.pixels[2] == 8)
        // Binomial draws: 256 margin tiles at 0.5 (128 ± 8), 3832 plain ones at 0.05 (192 ± 13.5); ±4 σ.
        let plain = c.kept - c.withDefects - c.unusual
        #expect((96...160).contains(c.unusual), "unusual background tiles kept: \(c.unusual) of 256")
        #expect((138...246).contains(plain), "plain background tiles kept: \(plain) of 3832")
        #expect(try SampleFileReader(path: dir + "/t.h5").count == c.kept)
    }
}
