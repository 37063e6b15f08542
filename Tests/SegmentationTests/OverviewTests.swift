// OverviewTests.swift — the overview PNG colours each block by its most frequent predicted defect class (ties to
// the lower class) and shows defect-free blocks as their mean grey; the defect list has every component.
import Foundation
import Testing
@testable import Segmentation

/// A mask (or image) held in memory, for feeding `Overview.write` exact pixels.
private final class RowsInMemory: MaskRows {
    let path: String, width: Int, height: Int
    let bytes: [UInt8]
    init(_ path: String, width: Int, height: Int, bytes: [UInt8]) {
        self.path = path; self.width = width; self.height = height; self.bytes = bytes
    }
    func read(rows: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws {
        for (i, b) in bytes[rows.lowerBound * width..<rows.upperBound * width].enumerated() { out[i] = b }
    }
}

@Suite("Overview")
struct OverviewTests {
    @Test("a block takes the colour of its most frequent defect class")
    func majorityColour() throws {
        // Three 16 × 16 blocks: a pit of 10 px ringed by 2 px taken for a chip; 3 px of scratch and 3 of dirt; none.
        let (width, height) = (48, 16)
        var mask = [UInt8](repeating: 0, count: width * height)
        for i in 0..<10 { mask[5 * width + 3 + i] = 2 }
        mask[6 * width + 3] = 4; mask[6 * width + 12] = 4
        for i in 0..<3 { mask[2 * width + 20 + i] = 1; mask[12 * width + 20 + i] = 5 }
        let image = (0..<width * height).map { UInt8($0 % width < 32 ? 100 : 90 + $0 / width % 2 * 20) }
        let dir = FileManager.default.temporaryDirectory.path + "/descent-overview-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let count = try Overview().write(image: RowsInMemory("image", width: width, height: height, bytes: image),
                                         mask: RowsInMemory("mask", width: width, height: height, bytes: mask),
                                         png: dir + "/o.png", csv: dir + "/o.csv")
        #expect(count == 5, "components: the pit, each chip pixel, the scratch, the dirt")
        let (_, rgb) = try readPNG(dir + "/o.png")
        #expect(rgb.count == 1 + 3 * 3, "one row of 3 overview pixels")
        let pixels = (0..<3).map { k in Array(rgb[1 + 3 * k...3 + 3 * k]) }
        func colour(_ k: Int) -> [UInt8] { let c = Overview.colours[k]; return [c.0, c.1, c.2] }
        #expect(pixels[0] == colour(2), "the pit's block is yellow, not the chip's cyan")
        #expect(pixels[1] == colour(1), "a tie goes to the lower class (scratch)")
        #expect(pixels[2] == [100, 100, 100], "a block without defects is its mean grey")
    }
}
