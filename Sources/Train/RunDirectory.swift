// RunDirectory.swift — the files a run leaves for people and tools: the effective job.toml, metrics.csv and
// metrics.jsonl (one row per epoch, appended and flushed as each epoch ends), status.json (running, finished,
// stopped, failed), final.h5 and plots/ (written when the run ends). Files that must never be seen half-written
// are written to a temporary name and renamed. A run that starts in the directory of an earlier run removes that
// run's final.h5 and plots first, so that results never sit beside the metrics of another run.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Job
import Report

public final class RunDirectory {
    public let path: String

    public init(path: String) throws {
        self.path = path
        if let problem = directoryProblem(creating: path) {
            throw JobError("\(path): cannot create the run directory (\(problem))")
        }
    }

    /// What a run writes when it ends; a fresh run removes them first.
    public var results: [String] { [path + "/final.h5", path + "/final.h5.tmp", path + "/plots/loss.svg", path + "/plots/error.svg"] }

    public var metricsCSV: String { path + "/metrics.csv" }
    public var metricsJSONL: String { path + "/metrics.jsonl" }

    /// Starts a fresh run: the effective job, empty metrics, status "running".
    public func begin(job: Job) throws {
        for file in results where unlink(file) != 0 && errno != ENOENT {
            throw JobError("\(file): cannot remove the result of an earlier run (\(String(cString: strerror(errno))))")
        }
        try writeAtomically(path + "/job.toml", job.effectiveTOML)
        try writeAtomically(metricsCSV, MetricsTable.header + "\n")
        try writeAtomically(metricsJSONL, "")
        try status("running", detail: "")
    }

    /// Continues a run from a checkpoint: the effective job, the metrics files rewritten to hold exactly the
    /// checkpoint's history (rows written after it are dropped: the resumed run writes them again), status
    /// "running". Results of the interrupted attempt (final.h5, plots) are removed.
    public func resume(job: Job, history: [EpochMetrics]) throws {
        for file in results where unlink(file) != 0 && errno != ENOENT {
            throw JobError("\(file): cannot remove the result of an earlier run (\(String(cString: strerror(errno))))")
        }
        try writeAtomically(path + "/job.toml", job.effectiveTOML)
        try writeAtomically(metricsCSV, MetricsTable(rows: history).csv())
        try writeAtomically(metricsJSONL, history.map { $0.jsonLine + "\n" }.joined())
        try status("running", detail: "resumed")
    }

    /// Appends one epoch to both metrics files.
    public func append(_ m: EpochMetrics) throws {
        try appendLine(metricsCSV, m.csvRow)
        try appendLine(metricsJSONL, m.jsonLine)
    }

    public func finish(status: String, detail: String) throws { try self.status(status, detail: detail) }

    /// Renames a finished temporary file into place.
    public func commit(_ temporary: String, as path: String) throws {
        guard rename(temporary, path) == 0 else {
            throw JobError("\(path): cannot be written (\(String(cString: strerror(errno))))")
        }
    }

    private func status(_ state: String, detail: String) throws {
        let text = "{\"status\": \(jsonQuoted(state)), \"detail\": \(jsonQuoted(detail)), \"updated\": \"\(ISO8601DateFormatter().string(from: Date()))\"}\n"
        try writeAtomically(path + "/status.json", text)
    }

    private func appendLine(_ file: String, _ line: String) throws {
        guard let handle = FileHandle(forWritingAtPath: file) else { throw JobError("\(file): cannot be opened for appending") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.synchronize()
    }
}

/// Writes `text` to `path` through a temporary file and a rename: readers see the old or the new file, never
/// a part of one.
public func writeAtomically(_ path: String, _ text: String) throws {
    let tmp = path + ".tmp"
    if let problem = writeFile(tmp, Array(text.utf8)) {
        unlink(tmp)
        throw JobError("\(path): cannot be written (\(problem))")
    }
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: tmp)
        throw JobError("\(path): cannot be written (\(reason))")
    }
}

/// Writes `bytes` to `path` (created or truncated); nil on success, else the system's reason ("No such file or
/// directory").
private func writeFile(_ path: String, _ bytes: [UInt8]) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return String(cString: strerror(errno)) }
    var failure: Int32 = 0
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = n < 0 ? errno : EIO; return }
            done += n
        }
    }
    if close(fd) != 0 && failure == 0 { failure = errno }
    return failure == 0 ? nil : String(cString: strerror(failure))
}

/// Creates the directory `path` and any missing parents, like `mkdir -p`; nil on success, else why it cannot be
/// created, naming the component at fault ("runs/x is a file, not a directory", "/root: Permission denied").
public func directoryProblem(creating path: String) -> String? {
    var st = stat()
    if stat(path, &st) == 0 {
        return (st.st_mode & S_IFMT) == S_IFDIR ? nil : "\(path) is a file, not a directory"
    }
    if errno == ENOTDIR || errno == ENOENT {
        var parent = path
        while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
        if let slash = parent.lastIndex(of: "/") {
            parent = slash == parent.startIndex ? "/" : String(parent[..<slash])
            if parent != path, let problem = directoryProblem(creating: parent) { return problem }
        }
    }
    if mkdir(path, 0o777) != 0 {
        let code = errno
        if code == EEXIST, stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return nil }
        return "\(path): \(String(cString: strerror(code)))"
    }
    return nil
}
