// MetricsTable.swift — metrics.csv, one row per evaluated epoch: the row type, the parser (with errors naming
// file, line and problem), the writer (which round-trips) and the matching JSON line for metrics.jsonl.
import Foundation

/// One row of metrics.csv: the state after `epoch` epochs (`step` optimiser steps in all). Errors are fractions
/// in [0, 1]. The batch values are means over the epoch's training batches, taken as the model changed (free,
/// always present for trained epochs); the training-set values come from a separate evaluation pass in
/// evaluation mode and are nil when it was not asked for.
public struct EpochMetrics: Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public var lr: Double
    public var batchLoss: Double?
    public var batchError: Double?
    public var trainLoss: Double?
    public var trainError: Double?
    public var testLoss: Double
    public var testError: Double
    /// Wall-clock seconds the epoch took.
    public var seconds: Double
    public var samplesPerSecond: Double

    public init(epoch: Int, step: Int, lr: Double, batchLoss: Double? = nil, batchError: Double? = nil,
                trainLoss: Double?, trainError: Double?,
                testLoss: Double, testError: Double, seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch; self.step = step; self.lr = lr
        self.batchLoss = batchLoss; self.batchError = batchError
        self.trainLoss = trainLoss; self.trainError = trainError
        self.testLoss = testLoss; self.testError = testError
        self.seconds = seconds; self.samplesPerSecond = samplesPerSecond
    }

    /// A row whose training-set values are kept only when `trainMeasured` (nil otherwise).
    public init(epoch: Int, step: Int, lr: Double, batchLoss: Double? = nil, batchError: Double? = nil,
                trainLoss: Double, trainError: Double, trainMeasured: Bool,
                testLoss: Double, testError: Double, seconds: Double, samplesPerSecond: Double) {
        self.init(epoch: epoch, step: step, lr: lr, batchLoss: batchLoss, batchError: batchError,
                  trainLoss: trainMeasured ? trainLoss : nil, trainError: trainMeasured ? trainError : nil,
                  testLoss: testLoss, testError: testError, seconds: seconds, samplesPerSecond: samplesPerSecond)
    }

    /// The row in metrics.csv's format (no newline); decimals in the shortest form that reads back exactly.
    public var csvRow: String {
        func optional(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        return ["\(epoch)", "\(step)", "\(lr)", optional(batchLoss), optional(batchError),
                optional(trainLoss), optional(trainError),
                "\(testLoss)", "\(testError)", "\(seconds)", "\(samplesPerSecond)"].joined(separator: ",")
    }

    /// The row back from `values` (a checkpoint's metrics history); nil when the count is wrong.
    public init?(values v: [Double]) {
        guard v.count == MetricsTable.columns.count else { return nil }
        func optional(_ x: Double) -> Double? { x.isNaN ? nil : x }
        self.init(epoch: Int(v[0]), step: Int(v[1]), lr: v[2], batchLoss: optional(v[3]), batchError: optional(v[4]),
                  trainLoss: optional(v[5]), trainError: optional(v[6]), testLoss: v[7], testError: v[8],
                  seconds: v[9], samplesPerSecond: v[10])
    }

    /// The row as numbers in column order, NaN where a value is missing (the checkpoint's metrics history).
    public var values: [Double] {
        [Double(epoch), Double(step), lr, batchLoss ?? .nan, batchError ?? .nan, trainLoss ?? .nan, trainError ?? .nan,
         testLoss, testError, seconds, samplesPerSecond]
    }

    /// The row as one JSON object with the CSV's column names (no newline); missing, NaN and infinite values
    /// are null.
    public var jsonLine: String {
        func json(_ v: Double?) -> String { v.map { $0.isFinite ? "\($0)" : "null" } ?? "null" }
        let values = ["\(epoch)", "\(step)", json(lr), json(batchLoss), json(batchError), json(trainLoss), json(trainError), json(testLoss),
                      json(testError), json(seconds), json(samplesPerSecond)]
        return "{" + zip(MetricsTable.columns, values).map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
    }
}

/// The rows of a metrics.csv, in file order.
public struct MetricsTable: Equatable, Sendable {
    /// The columns, in order.
    public static let columns = ["epoch", "step", "lr", "batch_loss", "batch_error", "train_loss", "train_error",
                                 "test_loss", "test_error", "seconds", "samples_per_second"]
    /// The header line (no newline).
    public static let header = columns.joined(separator: ",")

    public var rows: [EpochMetrics]
    /// Where the rows came from (a path), used in messages.
    public var source: String

    public init(rows: [EpochMetrics] = [], source: String = "") {
        self.rows = rows; self.source = source
    }

    /// Reads the metrics file at `path`.
    public static func load(_ path: String) throws -> MetricsTable {
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError("\(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportError("\(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw ReportError("\(path): not UTF-8 text") }
        return try parse(csv: text, source: path)
    }

    /// Parses metrics.csv text; `source` names it in errors ("SOURCE line N: problem"). Blank lines are skipped;
    /// a header alone is a table with no rows.
    public static func parse(csv: String, source: String) throws -> MetricsTable {
        let lines = csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        func fail(_ line: Int, _ problem: String) -> ReportError { ReportError("\(source) line \(line): \(problem)") }

        guard let first = lines.first, !first.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw fail(1, "empty file; expected the header \(header)")
        }
        let names = first.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard names == columns else { throw fail(1, "unknown header \(first); expected \(header)") }

        var rows: [EpochMetrics] = []
        for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let n = index + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == columns.count else {
                throw fail(n, "expected \(columns.count) columns, found \(fields.count)")
            }
            func integer(_ i: Int) throws -> Int {
                guard let v = Int(fields[i]) else { throw fail(n, "\(columns[i]) '\(fields[i])' is not an integer") }
                return v
            }
            func optional(_ i: Int) throws -> Double? {
                if fields[i].isEmpty { return nil }
                guard let v = Double(fields[i]) else { throw fail(n, "\(columns[i]) '\(fields[i])' is not a number") }
                return v
            }
            func decimal(_ i: Int) throws -> Double {
                guard let v = try optional(i) else { throw fail(n, "\(columns[i]) is empty") }
                return v
            }
            func fraction(_ i: Int, _ v: Double?) throws -> Double? {
                if let v, !(0...1).contains(v) { throw fail(n, "\(columns[i]) \(fields[i]) is not a fraction in [0, 1]") }
                return v
            }
            rows.append(EpochMetrics(
                epoch: try integer(0), step: try integer(1), lr: try decimal(2),
                batchLoss: try optional(3), batchError: try fraction(4, try optional(4)),
                trainLoss: try optional(5), trainError: try fraction(6, try optional(6)),
                testLoss: try decimal(7), testError: try fraction(8, try decimal(8))!,
                seconds: try decimal(9), samplesPerSecond: try decimal(10)))
        }
        return MetricsTable(rows: rows, source: source)
    }

    /// The table in metrics.csv's format: the header and one line per row, each ending in a newline.
    public func csv() -> String {
        ([Self.header] + rows.map(\.csvRow)).joined(separator: "\n") + "\n"
    }
}
