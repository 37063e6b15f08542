// SweepRunner.swift — a sweep across the whole job: the world is split into groups of ranks_per_run ranks
// (MPI_Comm_split); each group's leader claims the next unfinished run and its group trains it, data parallel,
// into the run's own directory (resuming it if an earlier attempt was interrupted), then the leader appends its
// row to the results table. Runs are claimed through files created with O_EXCL in claims/, one name per
// attempt, so groups never train the same run twice in one attempt, and a rerun of the sweep takes up exactly
// the runs without a result. A Slurm array task runs its fixed share of the grid instead (task i: runs i,
// i + N, …).
import Checkpoint
import Distributed
import Foundation
import Job
import Report
import Train
#if canImport(Glibc)
import Glibc
#endif

public final class SweepRunner {
    public let spec: SweepSpec
    public let world: Communicator
    /// For a Slurm array: this task's index and the number of tasks.
    public let arrayShare: (task: Int, tasks: Int)?
    public var environment: [String: String] = [:]

    public init(spec: SweepSpec, world: Communicator, arrayShare: (task: Int, tasks: Int)? = nil) {
        self.spec = spec; self.world = world; self.arrayShare = arrayShare
    }

    /// Runs trained to the end, failed, stopped by a signal (checkpoint written), and found finished already.
    public struct Summary: Sendable { public var trained = 0, failed = 0, stopped = 0, skipped = 0 }

    public func run() throws -> Summary {
        guard world.size % spec.ranksPerRun == 0 else {
            throw SweepError("\(spec.source): \(world.size) ranks cannot form groups of ranks_per_run = \(spec.ranksPerRun)")
        }
        let claims = spec.directory + "/claims"
        try world.agreeing {
            guard world.isRoot else { return }
            try ResultsTable.validate(spec.directory + "/results.csv", gridKeys: spec.gridKeys)
            try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: spec.directory + "/runs", withIntermediateDirectories: true)
        }
        let attempt = world.broadcast(world.isRoot ? "\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())" : "")
        let group = world.split(color: world.rank / spec.ranksPerRun, key: world.rank)
        let groups = world.size / spec.ranksPerRun, groupIndex = world.rank / spec.ranksPerRun
        // This process's share of the runs, as positions in spec.runs.
        let mine = spec.runs.indices.filter { i in arrayShare.map { i % $0.tasks == $0.task } ?? true }
        if world.isRoot {
            print("descent sweep: \(spec.runs.count) runs\(arrayShare.map { " (array task \($0.task) of \($0.tasks): \(mine.count))" } ?? ""), \(groups) group(s) of \(spec.ranksPerRun) rank(s); results: \(spec.directory)/results.csv")
            fflush(nil)
        }
        var summary = Summary()
        if world.isRoot {
            let done = ResultsTable.ids(spec.directory + "/results.csv")
            summary.skipped = mine.filter { isFinished(spec.runs[$0], done: done) }.count
        }
        while true {
            // The leader picks the run; the group learns it by broadcast (-1: nothing left).
            var pick = -1
            if group.isRoot && StopSignals.requested == 0 {   // a stop signal ends the sweep after the current run
                let done = ResultsTable.ids(spec.directory + "/results.csv")
                for i in mine where !isFinished(spec.runs[i], done: done) {
                    let fd = open(claims + "/\(spec.runs[i].id)@\(attempt)", O_CREAT | O_EXCL | O_WRONLY, 0o644)
                    guard fd >= 0 else { continue }
                    close(fd)
                    // Another `descent sweep` of this file (a resubmitted array, say) may be training it now.
                    if let holder = RunLock.holder(spec.runs[i].job.runDirectory) {
                        print("descent sweep: group \(groupIndex): \(spec.runs[i].id) is being trained by another process (\(holder)); left to it")
                        fflush(nil)
                        continue
                    }
                    pick = i
                    break
                }
            }
            var wire = Int64(pick)
            group.broadcast(&wire, bytes: 8)
            guard wire >= 0 else { break }
            let run = spec.runs[Int(wire)]
            let started = monotonicSeconds()
            do {
                guard try train(run, on: group) != .stopped else {
                    if group.isRoot { print("descent sweep: group \(groupIndex): \(run.id) stopped by a signal (checkpoint written; rerun the sweep to continue)"); fflush(nil) }
                    summary.stopped += 1
                    continue
                }
                if group.isRoot {
                    let result = try SweepRunner.result(of: run, seconds: monotonicSeconds() - started)
                    let tabled = try ResultsTable.append(result, gridKeys: spec.gridKeys, directory: spec.directory)
                    print("descent sweep: group \(groupIndex): \(run.id): test error \(String(format: "%.4f", result.testError)), train error \(result.trainError.map { String(format: "%.4f", $0) } ?? "–"), \(result.parameters) parameters, \(result.epochs) epoch\(result.epochs == 1 ? "" : "s"), \(Int(result.seconds)) s; \(tabled) of \(spec.runs.count) runs done")
                    fflush(nil)
                }
                summary.trained += 1
            } catch {
                if group.isRoot { print("descent sweep: group \(groupIndex): \(run.id) failed: \(error)"); fflush(nil) }
                summary.failed += 1
            }
        }
        // Every group is done: add up what they did.
        let leader = group.isRoot ? 1.0 : 0.0
        var counts = [Double(summary.trained), Double(summary.failed), Double(summary.stopped)].map { $0 * leader }
        world.allreduce(&counts)
        return Summary(trained: Int(counts[0]), failed: Int(counts[1]), stopped: Int(counts[2]), skipped: summary.skipped)
    }

    /// A run is finished when the table has its row, or its run directory says so (then the row is written now:
    /// the attempt that finished it was stopped before it could).
    private func isFinished(_ run: SweepRun, done: Set<String>) -> Bool {
        if done.contains(run.id) { return true }
        let status = (try? String(contentsOfFile: run.job.runDirectory + "/status.json", encoding: .utf8)) ?? ""
        guard status.contains("\"finished\""), let result = try? SweepRunner.result(of: run, seconds: .nan) else { return false }
        _ = try? ResultsTable.append(result, gridKeys: spec.gridKeys, directory: spec.directory)
        return true
    }

    private func train(_ run: SweepRun, on group: Communicator) throws -> Trainer.Outcome {
        let printer = ConsolePrinter(quiet: true)
        printer.enabled = false
        let training = TrainingRun(job: run.job, printer: printer, world: group)
        training.environment = environment
        return try training.execute().outcome
    }

    /// The results row of a finished run, from its run directory.
    static func result(of run: SweepRun, seconds: Double) throws -> RunResult {
        let dir = run.job.runDirectory
        let rows = try MetricsTable.load(dir + "/metrics.csv").rows
        guard let last = rows.last else { throw SweepError("\(dir)/metrics.csv: no epochs") }
        let final = try? CheckpointFile.read(dir + "/final.h5")
        let parameters = final?.parameters.count ?? 0
        // The run's time over all its attempts (a preempted run resumed); else this attempt's, else its epochs'.
        let wall = final.flatMap { $0.state.wallSeconds > 0 ? $0.state.wallSeconds : nil }
            ?? (seconds.isNaN ? rows.reduce(0) { $0 + $1.seconds } : seconds)
        return RunResult(id: run.id, overrides: run.overrides.map { ($0.key, "\($0.value)".replacingOccurrences(of: "\"", with: "")) },
                         parameters: parameters, epochs: last.epoch, trainLoss: last.trainLoss ?? last.batchLoss,
                         trainError: last.trainError ?? last.batchError, testLoss: last.testLoss, testError: last.testError,
                         bestTestError: rows.map(\.testError).min() ?? last.testError, seconds: wall, status: "finished")
    }
}
