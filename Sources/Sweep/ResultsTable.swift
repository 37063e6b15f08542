// ResultsTable.swift — a sweep's results.csv and results.jsonl: one row per finished run, appended under an
// exclusive lock (flock on results.lock) by whichever process finished it, after checking that the run has no
// row yet. Concurrent writers (groups of one sweep, tasks of a Slurm array) lose nothing and duplicate nothing;
// each append is flushed to disk before the lock is released.
import Foundation
import Report
#if canImport(Glibc)
import Glibc
#endif

public struct RunResult: Sendable {
    public var id: String
    public var overrides: [(key: String, value: String)]
    public var parameters: Int
    public var epochs: Int
    public var trainLoss: Double?, trainError: Double?
    public var testLoss: Double, testError: Double
    public var bestTestError: Double
    public var seconds: Double
    public var status: String

    public init(id: String, overrides: [(key: String, value: String)], parameters: Int, epochs: Int, trainLoss: Double?,
                trainError: Double?, testLoss: Double, testError: Double, bestTestError: Double, seconds: Double, status: String) {
        self.id = id; self.overrides = overrides; self.parameters = parameters; self.epochs = epochs
        self.trainLoss = trainLoss; self.trainError = trainError; self.testLoss = testLoss; self.testError = testError
        self.bestTestError = bestTestError; self.seconds = seconds; self.status = status
    }
}

public enum ResultsTable {
    static let fixedColumns = ["run", "parameters", "epochs", "train_loss", "train_error", "test_loss", "test_error",
                               "best_test_error", "seconds", "status"]

    /// Appends `r` unless the table already has its run; returns false when it was already there.
    @discardableResult
    public static func append(_ r: RunResult, gridKeys: [String], directory: String) throws -> Bool {
        let lockPath = directory + "/results.lock"
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw SweepError("\(lockPath): cannot be opened (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw SweepError("\(lockPath): cannot be locked (\(String(cString: strerror(errno))))") }
        defer { flock(fd, LOCK_UN) }

        let csv = directory + "/results.csv", jsonl = directory + "/results.jsonl"
        if ids(csv).contains(r.id) { return false }
        let header = (["run"] + gridKeys + fixedColumns.dropFirst()).joined(separator: ",")
        if !FileManager.default.fileExists(atPath: csv) { try appendLine(csv, header) }
        func number(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "" } ?? "" }
        let values = r.overrides.map(\.value)
        let row = [r.id] + values.map { $0.contains(",") ? "\"\($0)\"" : $0 } + ["\(r.parameters)", "\(r.epochs)", number(r.trainLoss),
            number(r.trainError), number(r.testLoss), number(r.testError), number(r.bestTestError), number(r.seconds), r.status]
        try appendLine(csv, row.joined(separator: ","))
        func json(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "null" } ?? "null" }
        let overrides = r.overrides.map { "\"\($0.key)\":\(jsonQuoted($0.value))" }.joined(separator: ",")
        try appendLine(jsonl, "{\"run\":\(jsonQuoted(r.id)),\"overrides\":{\(overrides)},\"parameters\":\(r.parameters),\"epochs\":\(r.epochs),"
            + "\"train_loss\":\(json(r.trainLoss)),\"train_error\":\(json(r.trainError)),\"test_loss\":\(json(r.testLoss)),"
            + "\"test_error\":\(json(r.testError)),\"best_test_error\":\(json(r.bestTestError)),\"seconds\":\(json(r.seconds)),"
            + "\"status\":\(jsonQuoted(r.status))}")
        return true
    }

    /// The run ids that have a row.
    public static func ids(_ csv: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) })
    }

    private static func appendLine(_ path: String, _ line: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0o644)
        guard fd >= 0 else { throw SweepError("\(path): cannot be opened for appending (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw SweepError("\(path): cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
