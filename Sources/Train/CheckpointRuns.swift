// CheckpointRuns.swift — which run a checkpoints/ directory belongs to. Every run has an id, stored in each of
// its checkpoints (/state@run_id) and in checkpoints/run-id. A run that starts over in a run directory, or
// continues another run's checkpoint there, takes the directory over: the earlier run's checkpoints and `latest`
// are removed, and those marked with a .keep file are moved to checkpoints/earlier-run-<its id>/, so that they
// can neither outrank nor prune the new run's checkpoints, nor be resumed as the new run.
import Checkpoint
import Foundation
import Job
#if canImport(Glibc)
import Glibc
#endif

extension Checkpointer {
    /// A new run's id: 16 random hexadecimal digits.
    public static func newRunID() -> String { String(format: "%016llx", UInt64.random(in: .min ... .max)) }

    /// The id of the run whose checkpoints `directory` holds; nil when none is recorded.
    public static func runID(in directory: String) -> String? {
        guard let text = try? String(contentsOfFile: directory + "/run-id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Records `id` as the run whose checkpoints `directory` holds.
    public static func record(_ id: String, in directory: String) throws {
        try makeDirectory(directory)
        try writeAtomically(directory + "/run-id", id + "\n")
        try fsyncFile(directory)
    }

    /// Makes `directory` the checkpoints of run `id` (rank 0, after every check has passed). The id is recorded
    /// first: a crash part way leaves checkpoints of the earlier run that resume skips. Then the earlier run's
    /// checkpoints and `latest` go, except `keeping` (a checkpoint being resumed) and the marked ones, which are
    /// moved aside. Returns where those went, with their names (nil when none were marked).
    public static func takeOver(_ directory: String, for id: String, keeping: String? = nil) throws -> (directory: String, names: [String])? {
        let earlier = runID(in: directory)
        try record(id, in: directory)
        let marked = checkpoints(in: directory).map(\.path).filter { $0 != keeping && FileManager.default.fileExists(atPath: $0 + ".keep") }
        let aside = directory + "/earlier-run-" + (earlier ?? newRunID())
        if !marked.isEmpty { try makeDirectory(aside) }
        for path in marked {
            for file in [path, path + ".keep"] where rename(file, aside + "/" + basename(file)) != 0 {
                throw JobError("\(file): cannot be moved to \(aside) (\(errorText()))")
            }
        }
        for path in checkpoints(in: directory).map(\.path) + [directory + "/latest"] where path != keeping {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw JobError("\(path): cannot remove the checkpoint of an earlier run (\(errorText()))")
            }
        }
        return marked.isEmpty ? nil : (aside, marked.map(basename).reversed())
    }
}

private func basename(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }
