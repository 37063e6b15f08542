// ComponentsTests.swift — streaming connected components against a naive flood fill, on random masks and on
// shapes that only join late (U), join only diagonally, touch another class, or span several bands; fed in bands
// of 1 row, 3 rows and the whole height.
import Foundation
import Testing
@testable import Segmentation

/// Components by flood fill over the whole mask (8-connected, same nonzero class).
private func floodFill(_ mask: [UInt8], hits: [UInt8]?, width: Int, height: Int) -> [Component] {
    var seen = [Bool](repeating: false, count: mask.count)
    var out: [Component] = []
    for start in 0..<mask.count where mask[start] != 0 && !seen[start] {
        let kind = mask[start]
        var c = Component(kind: Int(kind), x0: start % width, y0: start / width, x1: start % width, y1: start / width, area: 0, hit: false)
        var stack = [start]
        seen[start] = true
        while let i = stack.popLast() {
            let x = i % width, y = i / width
            c.x0 = min(c.x0, x); c.x1 = max(c.x1, x); c.y0 = min(c.y0, y); c.y1 = max(c.y1, y)
            c.area += 1
            if let hits, hits[i] == kind { c.hit = true }
            for dy in -1...1 { for dx in -1...1 {
                let nx = x + dx, ny = y + dy
                guard nx >= 0, nx < width, ny >= 0, ny < height else { continue }
                let j = ny * width + nx
                if mask[j] == kind && !seen[j] { seen[j] = true; stack.append(j) }
            } }
        }
        out.append(c)
    }
    return out
}

private func label(_ mask: [UInt8], hits: [UInt8]? = nil, width: Int, band: Int) -> [Component] {
    let labeller = ComponentLabeller(width: width)
    let height = mask.count / width
    var y = 0
    while y < height {
        let n = min(band, height - y)
        mask.withUnsafeBufferPointer { m in
            if let hits {
                hits.withUnsafeBufferPointer { labeller.add(rows: m.baseAddress! + y * width, count: n, hits: $0.baseAddress! + y * width) }
            } else {
                labeller.add(rows: m.baseAddress! + y * width, count: n, hits: nil)
            }
        }
        y += n
    }
    return labeller.finish()
}

private func sorted(_ c: [Component]) -> [Component] {
    c.sorted { ($0.y0, $0.x0, $0.kind, $0.y1, $0.x1, $0.area) < ($1.y0, $1.x0, $1.kind, $1.y1, $1.x1, $1.area) }
}

/// A mask from rows of characters: "." is 0, digits are classes.
private func mask(_ rows: [String]) -> (mask: [UInt8], width: Int) {
    (rows.flatMap { $0.map { $0 == "." ? 0 : UInt8(String($0))! } }, rows[0].count)
}

@Suite("streaming connected components")
struct ComponentsTests {
    @Test("random masks match a flood fill (hits included)", arguments: [1, 3, 1000])
    func random(band: Int) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for trial in 0..<40 {
            let width = 1 + Int(next() % 40), height = 1 + Int(next() % 30)
            let density = [30, 55, 80][trial % 3], classes = UInt64(1 + trial % 3)
            let truth = (0..<width * height).map { _ in next() % 100 < density ? UInt8(1 + next() % classes) : 0 }
            let prediction = (0..<width * height).map { _ in next() % 100 < 20 ? UInt8(1 + next() % classes) : 0 }
            let expected = sorted(floodFill(truth, hits: prediction, width: width, height: height))
            let got = sorted(label(truth, hits: prediction, width: width, band: band))
            #expect(got == expected, "trial \(trial), \(width) × \(height), band \(band)")
        }
    }

    @Test("a U joins at its bottom; diagonal neighbours connect; two classes touching are two components", arguments: [1, 3, 1000])
    func shapes(band: Int) {
        let (u, uw) = mask([
            "1...1..2",
            "1...1.2.",
            "1...12..",
            "11111...",
            "........",
        ])
        #expect(sorted(label(u, width: uw, band: band)) == [
            Component(kind: 1, x0: 0, y0: 0, x1: 4, y1: 3, area: 11, hit: false),
            Component(kind: 2, x0: 5, y0: 0, x1: 7, y1: 2, area: 3, hit: false),
        ])
        // Two classes crossing diagonally: each is connected through its corners only; a pixel two rows below is not.
        let (d, dw) = mask([
            "12..",
            "21..",
            "..1.",
            "2..1",
        ])
        #expect(sorted(label(d, width: dw, band: band)) == sorted([
            Component(kind: 1, x0: 0, y0: 0, x1: 3, y1: 3, area: 4, hit: false),
            Component(kind: 2, x0: 0, y0: 0, x1: 1, y1: 1, area: 2, hit: false),
            Component(kind: 2, x0: 0, y0: 3, x1: 0, y1: 3, area: 1, hit: false),
        ]))
        // Many prongs that only meet at the last row, and an isolated pixel.
        let (comb, cw) = mask([
            "3.3.3.3...",
            "3.3.3.3..3",
            "3.3.3.3...",
            "3.3.3.3...",
            "3.3.3.3...",
            "3333333...",
        ])
        #expect(sorted(label(comb, width: cw, band: band)) == [
            Component(kind: 3, x0: 0, y0: 0, x1: 6, y1: 5, area: 27, hit: false),
            Component(kind: 3, x0: 9, y0: 1, x1: 9, y1: 1, area: 1, hit: false),
        ])
    }

    @Test("a component spanning several bands is one, hit where any pixel is predicted as its class", arguments: [1, 3, 1000])
    func spanning(band: Int) {
        let width = 7, height = 20
        var truth = [UInt8](repeating: 0, count: width * height), prediction = truth
        for y in 0..<height { truth[y * width + 1 + abs(y % 8 - 4)] = 4 }   // a zigzag down the whole height
        prediction[17 * width + 4] = 4                                         // one pixel of it, in a late band
        prediction[2 * width + 3] = 2                                          // another class does not count
        #expect(label(truth, hits: prediction, width: width, band: band)
            == [Component(kind: 4, x0: 1, y0: 0, x1: 5, y1: 19, area: 20, hit: true)])
        prediction[17 * width + 4] = 0
        #expect(label(truth, hits: prediction, width: width, band: band).map(\.hit) == [false])
    }

    @Test("a synthetic glass mask (crossing scratches, chips at the edges) matches a flood fill, in bands of 64 rows")
    func synthetic() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/descent-components-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = GlassSynthesis()
        (g.width, g.height, g.seed, g.defectsPerClass, g.margin, g.rowsPerStrip) = (1024, 800, 4, 4, 64, 64)
        try g.write(image: dir + "/g.tif", mask: dir + "/m.tif")
        let reader = try TIFFStripReader(path: dir + "/m.tif")
        var mask = [UInt8](repeating: 0, count: 1024 * 800)
        try mask.withUnsafeMutableBufferPointer { try reader.read(rows: 0..<800, into: $0.baseAddress!) }
        let expected = sorted(floodFill(mask, hits: nil, width: 1024, height: 800))
        #expect(expected.count > 10)
        #expect(sorted(label(mask, width: 1024, band: 64)) == expected)
    }

    @Test("finish starts a new image")
    func reuse() {
        let labeller = ComponentLabeller(width: 3)
        let rows: [UInt8] = [5, 5, 0]
        rows.withUnsafeBufferPointer { labeller.add(rows: $0.baseAddress!, count: 1, hits: nil) }
        #expect(labeller.finish() == [Component(kind: 5, x0: 0, y0: 0, x1: 1, y1: 0, area: 2, hit: false)])
        rows.withUnsafeBufferPointer { labeller.add(rows: $0.baseAddress!, count: 1, hits: nil) }
        #expect(labeller.finish() == [Component(kind: 5, x0: 0, y0: 0, x1: 1, y1: 0, area: 2, hit: false)])
    }
}
