// MaskScore.swift — how well a predicted class mask matches the true one, computed by streaming both masks in
// bands of rows: per defect class, pixel IoU, precision and recall, and the detection recall (the share of true
// defects that the prediction finds at all), and the confusion matrix of classes (what each class is taken for).
// Undefined figures (a class absent from both masks, nothing predicted, no true defect) are NaN, shown as "—" in
// Markdown and null in JSON.
import Foundation

public struct MaskScoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

public struct MaskScore: Sendable {
    public struct ClassScore: Sendable {
        public var kind: Int
        public var name: String { GlassSynthesis.classNames[kind] }
        /// Pixels predicted as this class that are this class; predicted as it but not; of it but predicted otherwise.
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0
        /// Connected components of this class in the truth, and how many of them have a pixel predicted as it.
        public var defects = 0, found = 0

        /// TP / (TP + FP + FN); NaN when the class is in neither mask.
        public var iou: Double { ratio(truePositives, truePositives + falsePositives + falseNegatives) }
        /// TP / (TP + FP); NaN when nothing is predicted as this class.
        public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
        /// TP / (TP + FN); NaN when the class is not in the truth.
        public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
        /// found / defects; NaN when the truth has no defect of this class.
        public var detectionRecall: Double { ratio(found, defects) }
    }

    public static let classes = 1...5

    public var prediction: String, truth: String
    public var width: Int, height: Int
    /// The defect classes 1…5, in order.
    public var perClass: [ClassScore]
    /// confusion[t][p]: pixels of true class t predicted as class p (0 background … 5 dirt).
    public var confusion: [[Int]]

    /// The mean IoU over the defect classes present in the truth or the prediction (a class in neither has no
    /// IoU and is left out); NaN when neither mask has any defect pixel.
    public var meanIoU: Double {
        let defined = perClass.map(\.iou).filter { !$0.isNaN }
        return defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count)
    }
    public var defects: Int { perClass.reduce(0) { $0 + $1.defects } }
    public var found: Int { perClass.reduce(0) { $0 + $1.found } }
    /// found / defects over all classes; NaN when the truth has no defect.
    public var detectionRecall: Double { ratio(found, defects) }

    /// Scores `prediction` against `truth`, reading `bandRows` rows of each at a time.
    public init(prediction: MaskRows, truth: MaskRows, bandRows: Int = 256) throws {
        guard prediction.width == truth.width, prediction.height == truth.height else {
            throw MaskScoreError("\(prediction.path) is \(prediction.width) × \(prediction.height) but \(truth.path) is \(truth.width) × \(truth.height); a prediction must have its mask's size")
        }
        self.prediction = prediction.path; self.truth = truth.path
        let width = truth.width, height = truth.height
        self.width = width; self.height = height
        let band = max(1, min(bandRows, height))
        let predicted = UnsafeMutablePointer<UInt8>.allocate(capacity: width * band)
        let actual = UnsafeMutablePointer<UInt8>.allocate(capacity: width * band)
        defer { predicted.deallocate(); actual.deallocate() }
        // confusion[t · 6 + p]: pixels of true class t predicted as p.
        var confusion = [Int](repeating: 0, count: 36)
        let labeller = ComponentLabeller(width: width)
        var y0 = 0
        while y0 < height {
            let rows = min(band, height - y0)
            try prediction.read(rows: y0..<y0 + rows, into: predicted)
            try truth.read(rows: y0..<y0 + rows, into: actual)
            try confusion.withUnsafeMutableBufferPointer { counts in
                for i in 0..<rows * width {
                    let t = Int(actual[i]), p = Int(predicted[i])
                    guard t <= 5, p <= 5 else {
                        let (path, v) = t > 5 ? (truth.path, t) : (prediction.path, p)
                        throw MaskScoreError("\(path): unknown class \(v) at row \(y0 + i / width), column \(i % width) (classes are 0…5)")
                    }
                    counts[t * 6 + p] += 1
                }
            }
            labeller.add(rows: actual, count: rows, hits: predicted)
            y0 += rows
        }
        self.confusion = (0...5).map { t in Array(confusion[t * 6..<t * 6 + 6]) }
        perClass = Self.classes.map { k in
            var s = ClassScore(kind: k)
            s.truePositives = confusion[k * 6 + k]
            s.falsePositives = (0...5).reduce(0) { $0 + ($1 == k ? 0 : confusion[$1 * 6 + k]) }
            s.falseNegatives = (0...5).reduce(0) { $0 + ($1 == k ? 0 : confusion[k * 6 + $1]) }
            return s
        }
        for c in labeller.finish() {
            perClass[c.kind - 1].defects += 1
            if c.hit { perClass[c.kind - 1].found += 1 }
        }
    }

    /// A Markdown table: one row per defect class, then the means and totals.
    public func markdown() -> String {
        var lines = [
            "| class | TP px | FP px | FN px | IoU | precision | recall | defects | found | detection recall |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for s in perClass {
            lines.append("| \(s.kind) \(s.name) | \(s.truePositives) | \(s.falsePositives) | \(s.falseNegatives) | \(Self.fixed(s.iou)) | \(Self.fixed(s.precision)) | \(Self.fixed(s.recall)) | \(s.defects) | \(s.found) | \(Self.fixed(s.detectionRecall)) |")
        }
        lines.append("| all | | | | mean \(Self.fixed(meanIoU)) | | | \(defects) | \(found) | \(Self.fixed(detectionRecall)) |")
        let names = GlassSynthesis.classNames
        lines += ["", "Confusion (pixels; rows: true class, columns: predicted class):", "",
                  "| true class | " + names.joined(separator: " | ") + " |",
                  "|---|" + String(repeating: "--:|", count: names.count)]
        for (t, row) in confusion.enumerated() {
            lines.append("| \(names[t]) | " + row.map(String.init).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object on one line; undefined figures are null.
    public func json() -> String {
        let classes = perClass.map { s in
            "{\"class\":\(s.kind),\"name\":\(Self.quoted(s.name)),\"tp\":\(s.truePositives),\"fp\":\(s.falsePositives),\"fn\":\(s.falseNegatives),"
                + "\"iou\":\(Self.number(s.iou)),\"precision\":\(Self.number(s.precision)),\"recall\":\(Self.number(s.recall)),"
                + "\"defects\":\(s.defects),\"found\":\(s.found),\"detection_recall\":\(Self.number(s.detectionRecall))}"
        }
        return "{\"prediction\":\(Self.quoted(prediction)),\"truth\":\(Self.quoted(truth)),\"width\":\(width),\"height\":\(height),"
            + "\"classes\":[\(classes.joined(separator: ","))],\"mean_iou\":\(Self.number(meanIoU)),"
            + "\"defects\":\(defects),\"found\":\(found),\"detection_recall\":\(Self.number(detectionRecall)),"
            + "\"confusion\":[\(confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ","))]}"
    }

    private static func fixed(_ v: Double) -> String { v.isNaN ? "—" : String(format: "%.4f", v) }
    private static func number(_ v: Double) -> String { v.isNaN ? "null" : String(format: "%.6g", v) }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? .nan : Double(a) / Double(b) }
