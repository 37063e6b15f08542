// DebugLog.swift — a per-rank log (`descent train --debug-log DIR` writes DIR/rank-R.log), for finding the
// slow or failing rank of a job: where the rank runs, what it trains on, and per epoch its time split between
// computing and the gradient reduction. Rank 0's console output stays the user's view; this is the engineer's.
import Foundation
import Job
#if canImport(Glibc)
import Glibc
#endif

public final class DebugLog {
    private let handle: FileHandle
    public let path: String

    /// Opens DIR/rank-R.log for appending (creating DIR). Errors name the file.
    public init(directory: String, rank: Int) throws {
        path = directory + "/rank-\(rank).log"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JobError("\(directory): cannot create the debug-log directory (\(error.localizedDescription))")
        }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw JobError("\(path): cannot be opened for writing") }
        handle = h
        handle.seekToEndOfFile()
    }

    /// Appends one time-stamped line.
    public func write(_ line: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        handle.write(Data("\(stamp) \(line)\n".utf8))
    }

    /// Where this process runs.
    public static var processDescription: String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "host \(host) pid \(getpid())"
    }
}
