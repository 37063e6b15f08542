// RunDirectory.swift — the files a run leaves for people and tools: the effective job.toml, metrics.csv and
// metrics.jsonl (one row per epoch, appended and flushed as each epoch ends), status.json (running, finished,
// stopped, failed), plots/. Files that must never be seen half-written are written to a temporary name and
// renamed.
import Foundation
import Job
import Report

public final class RunDirectory {
    public let path: String

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw JobError("\(path): cannot create the run directory (\(error.localizedDescription))")
        }
    }

    public var metricsCSV: String { path + "/metrics.csv" }
    public var metricsJSONL: String { path + "/metrics.jsonl" }

    /// Starts a fresh run: the effective job, empty metrics, status "running".
    public func begin(job: Job) throws {
        try writeAtomically(path + "/job.toml", job.effectiveTOML)
        try writeAtomically(metricsCSV, MetricsTable.header + "\n")
        try writeAtomically(metricsJSONL, "")
        try status("running", detail: "")
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
        let text = "{\"status\": \"\(state)\", \"detail\": \"\(jsonEscaped(detail))\", \"updated\": \"\(ISO8601DateFormatter().string(from: Date()))\"}\n"
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
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
    } catch {
        try? FileManager.default.removeItem(atPath: tmp)
        throw JobError("\(path): cannot be written (\(error.localizedDescription))")
    }
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: tmp)
        throw JobError("\(path): cannot be written (\(reason))")
    }
}

func jsonEscaped(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: if c.value < 0x20 { out += " " } else { out.unicodeScalars.append(c) }
        }
    }
    return out
}
