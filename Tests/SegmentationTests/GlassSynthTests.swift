// GlassSynthTests.swift — synthetic line-scan images: the same seed gives the same bytes, every defect class is
// in the mask, defects are darker than the glass around them, the background beyond the edges is dark.
import Foundation
import Testing
@testable import Segmentation

@Suite("synthetic glass images")
struct GlassSynthTests {
    private func synthesize(_ dir: String, seed: UInt64 = 4) throws -> (image: [UInt8], mask: [UInt8], s: GlassSynthesis) {
        var s = GlassSynthesis()
        (s.width, s.height, s.seed, s.defectsPerClass, s.margin, s.rowsPerStrip) = (1024, 800, seed, 4, 64, 64)
        try s.write(image: dir + "/g.tif", mask: dir + "/m.tif")
        func read(_ path: String) throws -> [UInt8] {
            let r = try TIFFStripReader(path: path)
            #expect(r.width == 1024 && r.height == 800 && r.rowsPerStrip == 64)
            var out = [UInt8](repeating: 0, count: r.width * r.height)
            try out.withUnsafeMutableBufferPointer { try r.read(rows: 0..<r.height, into: $0.baseAddress!) }
            return out
        }
        return (try read(dir + "/g.tif"), try read(dir + "/m.tif"), s)
    }

    @Test("deterministic, every class present, defects darker than glass, dark beyond the edges")
    func synthetic() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/descent-glass-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (image, mask, _) = try synthesize(dir)
        let again = try synthesize(dir)
        #expect(image == again.image && mask == again.mask, "the same seed must give the same bytes")
        let other = try synthesize(dir, seed: 5)
        #expect(other.mask != mask)

        var sums = [Double](repeating: 0, count: 6), counts = [Int](repeating: 0, count: 6)
        var outside = 0.0, outsideCount = 0
        for y in 0..<800 { for x in 0..<1024 {
            let i = y * 1024 + x
            if x < 50 || x >= 974 { outside += Double(image[i]); outsideCount += 1; continue }
            sums[Int(mask[i])] += Double(image[i]); counts[Int(mask[i])] += 1
        } }
        #expect((1...5).allSatisfy { counts[$0] > 0 }, "pixels per class: \(counts)")
        let means = (0...5).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : .nan }
        #expect(means[0] > 140 && outside / Double(outsideCount) < 60, "glass \(means[0]), beyond the edges \(outside / Double(outsideCount))")
        for k in 1...5 { #expect(means[k] < means[0] - 10, "class \(k) mean \(means[k]) against glass \(means[0])") }
        #expect(means[5] > means[2], "dirt is fainter than pits")
    }
}
