// Executable.swift — running the built `descent` executable as a subprocess: which binary, its exit status, its
// standard output and standard error, a time limit, and a scratch directory per test. Not here: the fixtures
// (Fixtures.swift) and the tests themselves.
import Foundation
import HDF5
import Testing

extension Process {
    /// `run()` holding HDF5's lock. Until the child closes its copies of this process's descriptors (Foundation
    /// closes them in the child just before exec; `run` returns after that), the child shares the lock of every
    /// HDF5 file open here, and a test that closes a file and opens it again at that moment (a checkpoint written,
    /// then read) fails on the lock: seen once in a full run, while other tests started processes.
    func runHoldingHDF5Lock() throws { try HDF5Library.locked { try run() } }
}

/// The package root: Tests/CLITests/Executable.swift is three levels below it.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The `descent` binary under test.
///
/// Which one: `swift test` (and `swift build --build-tests`) builds every target of the package in the debug
/// configuration before it runs a test, so `.build/debug/descent` is current with the sources when these tests
/// run. A release binary (`.build/release/descent`, built by `swift build -c release`, which scripts/test runs
/// first) is used only when it is newer than the debug one — it was then built from sources at least as recent —
/// or when there is no debug binary at all. `DESCENT_EXECUTABLE=/path/to/descent` overrides the choice.
enum DescentBinary {
    static let path: String? = {
        if let chosen = ProcessInfo.processInfo.environment["DESCENT_EXECUTABLE"], !chosen.isEmpty { return chosen }
        let candidates = [".build/debug/descent", ".build/release/descent"].map { packageRoot + "/" + $0 }
        let built = candidates.compactMap { path -> (String, Date)? in
            guard FileManager.default.isExecutableFile(atPath: path),
                  let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            else { return nil }
            return (path, modified)
        }
        // Debug first; the release binary only if strictly newer.
        return built.reduce(nil as (String, Date)?) { best, next in
            guard let best else { return next }
            return next.1 > best.1 ? next : best
        }?.0
    }()

    /// The path, or a test failure that says how to build it.
    static func require() throws -> String {
        try #require(path, "no descent executable: run `swift build` (or `swift build -c release`) in \(packageRoot)")
    }
}

/// What one run of the executable did.
struct Outcome: Sendable, CustomStringConvertible {
    var arguments: [String]
    /// The exit status, or the signal number when `signalled`.
    var status: Int32
    /// Killed by a signal (a crash, or the time limit).
    var signalled: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String

    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var succeeded: Bool { !signalled && !timedOut && status == 0 }

    /// The command, its status and its output (long output shortened to its first and last lines).
    var description: String {
        func shortened(_ text: String) -> String {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count > 60 else { return text }
            return (lines.prefix(30) + ["[… \(lines.count - 50) lines …]"] + lines.suffix(20)).joined(separator: "\n")
        }
        return "descent \(arguments.joined(separator: " ")) → \(signalled ? "signal" : "status") \(status)\(timedOut ? " (timed out)" : "")\n--- stdout\n\(shortened(stdout))\n--- stderr\n\(shortened(stderr))"
    }
}

/// Runs `descent arguments…` in `directory` and waits for it, at most `timeLimit` seconds (then it is killed and
/// the outcome says `timedOut`). Standard output and error go to files, so that neither can fill a pipe and
/// block the child. One BLAS thread (the machine has 2 cores and tests run in parallel).
func descent(_ arguments: [String], in directory: String, timeLimit: Double = 60, launcher: [String] = [],
             environment extra: [String: String] = [:],
             whileRunning: ((Process) async throws -> Void)? = nil) async throws -> Outcome {
    let binary = try DescentBinary.require()
    let capture = FileManager.default.temporaryDirectory.path + "/descent-cli-capture-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: capture, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: capture) }
    let (outPath, errPath) = (capture + "/stdout", capture + "/stderr")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))

    let process = Process()
    // With a launcher (e.g. ["mpirun", "-np", "2"]) the launcher runs the binary.
    process.executableURL = URL(fileURLWithPath: launcher.isEmpty ? binary : "/usr/bin/env")
    process.arguments = launcher.isEmpty ? arguments : launcher + [binary] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment["COLUMNS"] = "80"
    environment.merge(extra) { $1 }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.runHoldingHDF5Lock()
    try? out.close()
    try? err.close()

    if let whileRunning { try await whileRunning(process) }
    let deadline = Date().addingTimeInterval(timeLimit)
    var timedOut = false
    var reaped: Int32? = nil, zombieSince: Date? = nil
    while process.isRunning {
        // Foundation collects an ended child within milliseconds; one left a zombie for 1 s it has missed.
        if isZombie(process.processIdentifier) {
            zombieSince = zombieSince ?? Date()
            if Date().timeIntervalSince(zombieSince!) > 1, let status = collect(process.processIdentifier) { reaped = status; break }
        }
        if !timedOut && Date() > deadline {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    // A wait status: exit code in bits 8-15, or the signal in bits 0-6 (Foundation reports the signal as status).
    let (status, signalled) = reaped.map { $0 & 0x7f == 0 ? (($0 >> 8) & 0xff, false) : ($0 & 0x7f, true) }
        ?? (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
    return Outcome(arguments: arguments, status: status, signalled: signalled, timedOut: timedOut,
                   stdout: read(outPath), stderr: read(errPath))
}

/// Whether child `pid` has ended but nobody has collected it yet (state Z). Foundation's Process missed one
/// child's end in a CI run: the `descent` child stayed a zombie, `isRunning` stayed true, and the test waited
/// forever.
private func isZombie(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let name = stat.lastIndex(of: ")"), stat.index(name, offsetBy: 2) < stat.endIndex else { return false }
    return stat[stat.index(name, offsetBy: 2)] == "Z"
}

/// Collects ended child `pid` and returns its wait status (nil if Foundation has just collected it).
private func collect(_ pid: Int32) -> Int32? {
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == pid ? status : nil
}

/// A fresh temporary directory per test, removed when the last reference goes.
final class Scratch: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/descent-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// Creates the directory `path/name` (and its parents) and returns its path.
    func directory(_ name: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// Every file and directory below the scratch directory (relative paths) with its size and modification time:
    /// comparing two snapshots shows what a command created, removed or changed.
    func snapshot() -> [String: String] {
        var entries: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: path) else { return entries }
        while let relative = walker.nextObject() as? String {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: file(relative))) ?? [:]
            let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            entries[relative] = "\(size) bytes, modified \(modified)"
        }
        return entries
    }
}

func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

func readText(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw FixtureError("\(path): cannot be read")
    }
    return String(decoding: data, as: UTF8.self)
}

func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError("\(path): cannot be read") }
    return [UInt8](data)
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
