// MaskScoreTests.swift — mask scores on a hand-made 8 × 6 truth and prediction whose every figure is worked out
// below, in any band height; a prediction equal to a synthetic mask scores 1 everywhere; size mismatches and
// unknown classes are one-line errors naming the file.
import Foundation
import Testing
@testable import Segmentation

private func scratch() throws -> String {
    let dir = FileManager.default.temporaryDirectory.path + "/descent-score-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes a mask given as rows of characters ("." is 0, digits are classes) as a TIFF of 4-row strips.
private func writeMask(_ path: String, _ rows: [String]) throws {
    let width = rows[0].count, height = rows.count
    let bytes = rows.flatMap { $0.map { $0 == "." ? UInt8(0) : UInt8(String($0))! } }
    let w = try TIFFStripWriter(path: path, width: width, height: height, rowsPerStrip: 4)
    for s in 0..<w.strips { try bytes.withUnsafeBufferPointer { try w.append($0.baseAddress! + s * 4 * width) } }
    try w.close()
}

private let truth = [
    "11....2.",
    "........",
    ".33.....",
    "........",
    "....1...",
    "....1...",
]
private let prediction = [
    "1.......",   // (1, 0): scratch missed
    "........",   // (6, 0): pit missed
    ".32.....",   // (2, 2): crack predicted as pit
    ".......5",   // (7, 3): dirt where there is none
    "........",   // the second scratch missed entirely
    "........",
]

@Suite("mask scores")
struct MaskScoreTests {
    @Test("hand-made masks: every figure as worked out by hand, in bands of 1, 4 and 256 rows", arguments: [1, 4, 256])
    func handMade(band: Int) throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeMask(dir + "/truth.tif", truth)
        try writeMask(dir + "/pred.tif", prediction)
        let s = try MaskScore(prediction: TIFFStripReader(path: dir + "/pred.tif"), truth: TIFFStripReader(path: dir + "/truth.tif"), bandRows: band)
        let c = s.perClass
        #expect(c.map(\.kind) == [1, 2, 3, 4, 5])
        #expect(c.map(\.truePositives) == [1, 0, 1, 0, 0])
        #expect(c.map(\.falsePositives) == [0, 1, 0, 0, 1])
        #expect(c.map(\.falseNegatives) == [3, 1, 1, 0, 0])
        // scratch 1 / (1 + 3); pit 0 / 2; crack 1 / 2; chip in neither mask; dirt 0 / 1.
        #expect(c[0].iou == 0.25 && c[1].iou == 0 && c[2].iou == 0.5 && c[3].iou.isNaN && c[4].iou == 0)
        #expect(c[0].precision == 1 && c[1].precision == 0 && c[2].precision == 1 && c[3].precision.isNaN && c[4].precision == 0)
        #expect(c[0].recall == 0.25 && c[1].recall == 0 && c[2].recall == 0.5 && c[3].recall.isNaN && c[4].recall.isNaN)
        #expect(s.meanIoU == (0.25 + 0 + 0.5 + 0) / 4, "chip is left out of the mean")
        // Truth defects: two scratches (the first found), a pit (missed), a crack (found).
        #expect(c.map(\.defects) == [2, 1, 1, 0, 0])
        #expect(c.map(\.found) == [1, 0, 1, 0, 0])
        #expect(c[0].detectionRecall == 0.5 && c[1].detectionRecall == 0 && c[2].detectionRecall == 1 && c[3].detectionRecall.isNaN)
        #expect(s.defects == 4 && s.found == 2 && s.detectionRecall == 0.5)

        // Pixels: the 41 background ones (one taken for dirt), 4 of scratch, 1 of pit, 2 of crack (one taken for pit).
        #expect(s.confusion == [[40, 0, 0, 0, 0, 1], [3, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0],
                                [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])

        let table = s.markdown().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(table.count == 20 && table[19].isEmpty)
        #expect(table[11] == "| true class | background | scratch | pit | crack | chip | dirt |")
        #expect(table[16] == "| crack | 0 | 0 | 1 | 1 | 0 | 0 |")
        #expect(table[2] == "| 1 scratch | 1 | 0 | 3 | 0.2500 | 1.0000 | 0.2500 | 2 | 1 | 0.5000 |")
        #expect(table[5] == "| 4 chip | 0 | 0 | 0 | — | — | — | 0 | 0 | — |")
        #expect(table[7] == "| all | | | | mean 0.1875 | | | 4 | 2 | 0.5000 |")

        let json = try #require(try JSONSerialization.jsonObject(with: Data(s.json().utf8)) as? [String: Any])
        #expect(!s.json().contains("\n"))
        #expect(json["mean_iou"] as? Double == 0.1875 && json["defects"] as? Int == 4 && json["found"] as? Int == 2)
        #expect(json["truth"] as? String == dir + "/truth.tif" && json["width"] as? Int == 8 && json["height"] as? Int == 6)
        let classes = try #require(json["classes"] as? [[String: Any]])
        #expect(classes.count == 5 && classes[2]["name"] as? String == "crack" && classes[2]["iou"] as? Double == 0.5)
        #expect(classes[3]["iou"] is NSNull && classes[4]["recall"] is NSNull && classes[1]["fn"] as? Int == 1)
        #expect(json["confusion"] as? [[Int]] == s.confusion)
    }

    @Test("a prediction equal to a synthetic mask: IoU, precision, recall and detection recall 1 for every class")
    func perfect() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = GlassSynthesis()
        (g.width, g.height, g.seed, g.defectsPerClass, g.margin, g.rowsPerStrip) = (1024, 800, 4, 4, 64, 64)
        let boxes = try g.write(image: dir + "/g.tif", mask: dir + "/m.tif")
        let mask = try TIFFStripReader(path: dir + "/m.tif")
        let s = try MaskScore(prediction: mask, truth: mask, bandRows: 100)
        for c in s.perClass {
            #expect(c.iou == 1 && c.precision == 1 && c.recall == 1 && c.detectionRecall == 1, "class \(c.kind)")
            #expect(c.falsePositives == 0 && c.falseNegatives == 0)
        }
        #expect(s.meanIoU == 1 && s.detectionRecall == 1 && s.found == s.defects)
        #expect(s.defects >= boxes.count / 2, "\(s.defects) components for \(boxes.count) drawn defects")
    }

    @Test("masks of different sizes, and unknown classes, are one-line errors naming the file")
    func errors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeMask(dir + "/truth.tif", truth)
        try writeMask(dir + "/short.tif", Array(truth.prefix(5)))
        try writeMask(dir + "/bad.tif", truth.enumerated().map { $0.offset == 3 ? ".....7.." : $0.element })
        func message(_ pred: String, _ truth: String) throws -> String? {
            do { _ = try MaskScore(prediction: TIFFStripReader(path: pred), truth: TIFFStripReader(path: truth), bandRows: 2); return nil }
            catch let e as MaskScoreError { return e.description }
        }
        #expect(try message(dir + "/short.tif", dir + "/truth.tif")
            == "\(dir)/short.tif is 8 × 5 but \(dir)/truth.tif is 8 × 6; a prediction must have its mask's size")
        #expect(try message(dir + "/truth.tif", dir + "/bad.tif") == "\(dir)/bad.tif: unknown class 7 at row 3, column 5 (classes are 0…5)")
        #expect(try message(dir + "/bad.tif", dir + "/truth.tif") == "\(dir)/bad.tif: unknown class 7 at row 3, column 5 (classes are 0…5)")
    }
}
