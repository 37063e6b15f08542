// Checkpointer.swift — a run's checkpoints/: writing one collectively and committing it atomically (temporary
// name → flush and fsync → rename → fsync the directory → replace the `latest` pointer the same way), keeping
// the last k (and any marked with a `.keep` file), and finding the newest one that validates on resume. A crash
// at any instant leaves the previous checkpoint, and the pointer to it, intact.
import Checkpoint
import Distributed
import Foundation
import Job
#if canImport(Glibc)
import Glibc
#endif

public final class Checkpointer {
    public let directory: String
    public let keep: Int
    let world: Communicator

    /// `run/checkpoints`, keeping the newest `keep` checkpoints.
    public init(runDirectory: String, keep: Int, world: Communicator) {
        directory = runDirectory + "/checkpoints"
        self.keep = keep
        self.world = world
    }

    public static func name(step: Int) -> String { "step-\(step).h5" }

    /// Writes `contents` on every rank (each its share) as checkpoints/step-<global step>.h5 and commits it.
    /// Returns its path. Every rank calls this; a failure on any rank is reported on all.
    @discardableResult
    public func save(_ contents: CheckpointContents, share: WriteShare) throws -> String {
        let final = directory + "/" + Checkpointer.name(step: contents.state.globalStep)
        let temporary = directory + "/." + Checkpointer.name(step: contents.state.globalStep) + ".tmp"
        try world.agreeing {
            if world.isRoot {
                try makeDirectory(directory)
                unlink(temporary)
            }
        }
        do {
            try world.agreeing { try CheckpointFile.write(contents, to: temporary, share: share) }
        } catch {
            // A partial file must not fill the disk further. After a CollectiveBroken only the failing rank is
            // left to remove it (the job is about to be aborted), while the others still hold it open: truncating
            // frees its space at once (unlinking would only when they exit), so the status and the error line can
            // still be written to that disk.
            if world.isRoot || error is CollectiveBroken { truncate(temporary, 0); unlink(temporary) }
            throw error
        }
        try world.agreeing {
            guard world.isRoot else { return }
            try fsyncFile(temporary)
            guard rename(temporary, final) == 0 else { throw JobError("\(final): cannot be committed (\(errorText()))") }
            try fsyncFile(directory)
            try writePointer(Checkpointer.name(step: contents.state.globalStep))
            prune()
        }
        return final
    }

    /// Replaces `latest` atomically with a file holding `name`.
    private func writePointer(_ name: String) throws {
        let latest = directory + "/latest", temporary = directory + "/.latest.tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((name + "\n").utf8)) else {
            throw JobError("\(temporary): cannot be written (\(errorText()))")
        }
        try fsyncFile(temporary)
        guard rename(temporary, latest) == 0 else { throw JobError("\(latest): cannot be replaced (\(errorText()))") }
        try fsyncFile(directory)
    }

    /// Removes all but the newest `keep` checkpoints; a checkpoint with a `<name>.keep` file beside it stays.
    private func prune() {
        let steps = Checkpointer.checkpoints(in: directory)
        for (_, path) in steps.dropFirst(keep) where !FileManager.default.fileExists(atPath: path + ".keep") {
            unlink(path)
        }
    }

    /// The checkpoints of a directory, newest (highest step) first.
    public static func checkpoints(in directory: String) -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), name.hasSuffix(".h5"), let step = Int(name.dropFirst(5).dropLast(3)) else { return nil }
            return (step, directory + "/" + name)
        }.sorted { $0.0 > $1.0 }
    }

    /// The checkpoint to resume from: the one `latest` names if it validates, else the newest that does; never
    /// one of another run than checkpoints/run-id names (CheckpointRuns.swift). Each one that does not validate
    /// or belongs to another run is reported on one line through `report`. Nil when there is none.
    public static func newestValid(in directory: String, report: (String) -> Void) -> (path: String, contents: CheckpointContents)? {
        var candidates = checkpoints(in: directory).map(\.path)
        let latest = directory + "/latest"
        if let text = try? String(contentsOfFile: latest, encoding: .utf8) {
            let named = directory + "/" + text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let i = candidates.firstIndex(of: named) {
                candidates.insert(candidates.remove(at: i), at: 0)
            } else {
                report("\(latest) names \(named), which does not exist; looking for the newest valid checkpoint")
            }
        }
        let run = runID(in: directory)
        for path in candidates {
            do {
                let c = try CheckpointFile.read(path)
                if let run, !c.state.runID.isEmpty, c.state.runID != run {
                    report("\(path): a checkpoint of another run (\(c.state.runID), not \(run)); not resumed")
                    continue
                }
                return (path, c)
            } catch {
                report("\(error); using an older checkpoint")
            }
        }
        return nil
    }
}

/// fsync of a file or a directory, by path.
func fsyncFile(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw JobError("\(path): cannot be opened to sync (\(errorText()))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw JobError("\(path): cannot be synced to disk (\(errorText()))") }
}

func makeDirectory(_ path: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw JobError("\(path): cannot create the directory (\(errorText()))")
    }
}

func errorText() -> String { String(cString: strerror(errno)) }
