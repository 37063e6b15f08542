// ResultsTable.swift — a sweep's results.csv and results.jsonl: one row per finished run, appended under an
// exclusive lock (flock on results.lock) by whichever process finished it, after checking that the run has no
// row yet. Concurrent writers (groups of one sweep, tasks of a Slurm array) lose nothing and duplicate nothing;
// each append is flushed to disk before the lock is released. A table edited by hand into another shape is
// refused with one line (validate) before a sweep adds to it.
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

    /// Appends `r` unless the table already has its run; returns how many runs have a row after the call.
    @discardableResult
    public static func append(_ r: RunResult, gridKeys: [String], directory: String) throws -> Int {
        try locked(directory) { try appendUnlocked(r, gridKeys: gridKeys, directory: directory) }
    }

    /// Runs `body` holding the table's exclusive lock (flock on results.lock), so that no writer is half-way.
    private static func locked<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        let lockPath = directory + "/results.lock"
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw SweepError("\(lockPath): cannot be opened (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw SweepError("\(lockPath): cannot be locked (\(String(cString: strerror(errno))))") }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    private static func appendUnlocked(_ r: RunResult, gridKeys: [String], directory: String) throws -> Int {
        let csv = directory + "/results.csv", jsonl = directory + "/results.jsonl"
        let tabled = ids(csv)
        if tabled.contains(r.id) { return tabled.count }
        if !FileManager.default.fileExists(atPath: csv) { try appendLine(csv, header(gridKeys: gridKeys).joined(separator: ",")) }
        func number(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "" } ?? "" }
        let values = r.overrides.map(\.value)
        let row = [r.id] + values.map { $0.contains(",") ? "\"\($0)\"" : $0 } + ["\(r.parameters)", "\(r.epochs)", number(r.trainLoss),
            number(r.trainError), number(r.testLoss), number(r.testError), number(r.bestTestError), number(r.seconds), r.status]
        try appendLine(csv, row.joined(separator: ","))
        // The JSON lines may already hold the run: its CSV row was deleted by hand and is being written again.
        let prefix = "{\"run\":\(jsonQuoted(r.id)),"
        if let lines = try? String(contentsOfFile: jsonl, encoding: .utf8), lines.split(separator: "\n").contains(where: { $0.hasPrefix(prefix) }) {
            return tabled.count + 1
        }
        func json(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "null" } ?? "null" }
        let overrides = r.overrides.map { "\"\($0.key)\":\(jsonQuoted($0.value))" }.joined(separator: ",")
        try appendLine(jsonl, "{\"run\":\(jsonQuoted(r.id)),\"overrides\":{\(overrides)},\"parameters\":\(r.parameters),\"epochs\":\(r.epochs),"
            + "\"train_loss\":\(json(r.trainLoss)),\"train_error\":\(json(r.trainError)),\"test_loss\":\(json(r.testLoss)),"
            + "\"test_error\":\(json(r.testError)),\"best_test_error\":\(json(r.bestTestError)),\"seconds\":\(json(r.seconds)),"
            + "\"status\":\(jsonQuoted(r.status))}")
        return tabled.count + 1
    }

    /// The run ids that have a row.
    public static func ids(_ csv: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) })
    }

    /// The header of a sweep's table with these grid keys.
    static func header(gridKeys: [String]) -> [String] { ["run"] + gridKeys + fixedColumns.dropFirst() }

    /// The fields of one CSV line (a field holding a comma is in double quotes, as `append` writes it).
    static func fields(_ line: Substring) -> [String] {
        var out: [String] = [], field = "", quoted = false
        for c in line {
            if c == "\"" { quoted.toggle() } else if c == "," && !quoted { out.append(field); field = "" } else { field.append(c) }
        }
        return out + [field]
    }

    /// Checks a sweep's results.csv (when there is one) before anything is added to it: the header of this
    /// sweep, then rows of as many fields, each a distinct run with numbers where numbers belong and status
    /// "finished". A table edited by hand into another shape stops the sweep with one line naming the file and
    /// line; the table is left as it is.
    /// The table is read under its lock, so that no writer is seen half-way.
    public static func validate(_ csv: String, gridKeys: [String]) throws {
        guard FileManager.default.fileExists(atPath: csv) else { return }
        let directory = URL(fileURLWithPath: csv).deletingLastPathComponent().path
        guard let text = try locked(directory, { try? String(contentsOfFile: csv, encoding: .utf8) }) else {
            throw SweepError("\(csv): cannot be read as UTF-8 text")
        }
        try check(text, of: csv, gridKeys: gridKeys)
    }

    /// The checks of `validate` on the text of table `csv` (a report checks the text it has read).
    static func check(_ text: String, of csv: String, gridKeys: [String]) throws {
        let expected = header(gridKeys: gridKeys)
        let remedy = "fix or delete that line (a run that finished gets its row back from its run directory at the next descent sweep)"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, fields(first) == expected else {
            throw SweepError("\(csv) line 1: the header is '\(lines.first ?? "")', expected '\(expected.joined(separator: ","))' (a table of another sweep, or edited by hand); move it and results.jsonl away to start the table again: every run that finished gets its row back from its run directory")
        }
        var seen: Set<String> = []
        let numeric = Set(fixedColumns.dropFirst().dropLast())
        for (i, line) in lines.enumerated().dropFirst() where !(line.isEmpty && i == lines.count - 1) {
            let f = fields(line)
            guard f.count == expected.count else {
                throw SweepError("\(csv) line \(i + 1): expected \(expected.count) fields (\(expected.joined(separator: ","))), found \(f.count); \(remedy)")
            }
            if let bad = zip(expected, f).first(where: { numeric.contains($0.0) && !$0.1.isEmpty && Double($0.1) == nil }) {
                throw SweepError("\(csv) line \(i + 1): \(bad.0) is '\(bad.1)', not a number; \(remedy)")
            }
            guard f.last == "finished" else {
                throw SweepError("\(csv) line \(i + 1): status is '\(f.last ?? "")', expected 'finished'; \(remedy)")
            }
            guard !f[0].isEmpty, seen.insert(f[0]).inserted else {
                throw SweepError("\(csv) line \(i + 1): run '\(f[0])' \(f[0].isEmpty ? "has no name" : "has a second row"); \(remedy)")
            }
        }
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
