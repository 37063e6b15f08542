// StatusCommand.swift — `descent status RUN_DIR | SWEEP_DIR | SWEEP_FILE`: where a run stands, from its run
// directory (status.json, metrics, checkpoints) and, for a submitted run, from Slurm (squeue, then sacct); for a
// sweep, how many of its runs are finished, running, stopped, failed or not started, and which.
import ArgumentParser
import Checkpoint
import Foundation
import Report
import Slurm
import Sweep
import Train

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a run's state (running, pending, requeued n times, stopped, finished, failed), its last epoch and metrics; or a sweep's runs by state.",
        discussion: "Reads RUN_DIR/status.json, metrics.csv and checkpoints/; for a run submitted with descent submit, asks squeue (and sacct) about its Slurm job. A run that status.json calls running is shown with the process that holds its run directory's lock, or as killed when none does. Given a sweep directory (<output>/<name>, with runs/ and results.csv) or its sweep file, counts its runs by state and names those not finished; the sweep file also tells the runs not started yet. Exit status 1 when the run (or a run of the sweep) failed, else 0."
    )

    @Argument(help: "A run directory (runs/<name>), a sweep directory (runs/<sweep name>) or a sweep file (*.sweep.toml).")
    var runDirectory: String

    func run() throws {
        try failing {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: runDirectory, isDirectory: &isDirectory)
            if exists && !isDirectory.boolValue {
                let spec = try SweepSpec(path: runDirectory)
                try showSweep(spec.directory, runs: spec.runs.map(\.id))
            } else if exists && !FileManager.default.fileExists(atPath: runDirectory + "/status.json")
                        && FileManager.default.fileExists(atPath: runDirectory + "/runs") {
                try showSweep(runDirectory, runs: nil)
            } else {
                try showRun()
            }
        }
    }

    private func showRun() throws {
        let jobID = slurmJob(of: runDirectory)
        var (state, detail) = try runState(runDirectory, requireStatus: jobID == nil)
        if let jobID {
            if let queued = Sbatch.queueState(jobID) {
                // A requeued job waits in the queue as PENDING while status.json still says "stopped".
                state = queued == "PENDING" && state == "stopped" ? "requeued, pending" : queued.lowercased()
            } else if state == "running", let final = Sbatch.finalState(jobID) {
                state = "\(state) (Slurm: \(final))"   // the job ended without the run saying so: killed
            }
        }
        state = withLockHolder(state, runDirectory)
        let checkpoints = Checkpointer.checkpoints(in: runDirectory + "/checkpoints")
        let requeues = checkpoints.first.flatMap { try? CheckpointFile.read($0.path).state.requeueCount } ?? 0
        print("\(runDirectory): \(state)\(requeues > 0 ? ", requeued \(requeues) time(s)" : "")\(jobID.map { ", Slurm job \($0)" } ?? "")")
        if !detail.isEmpty { print("  \(detail)") }
        if let last = (try? MetricsTable.load(runDirectory + "/metrics.csv"))?.rows.last {
            func rounded(_ x: Double) -> String { String(format: "%.4g", x) }   // 4 significant digits
            print("  epoch \(last.epoch) (step \(last.step)): test loss \(rounded(last.testLoss)), test error \(rounded(last.testError))"
                  + (last.trainError.map { ", train error \(rounded($0))" } ?? ""))
        }
        if let newest = checkpoints.first { print("  newest checkpoint: \(newest.path) (\(checkpoints.count) kept)") }
        if state.hasPrefix("failed") { throw ExitCode(1) }
    }

    /// One line for the sweep, then one per run that is not finished; `runs`: the sweep file's run ids, when known.
    private func showSweep(_ directory: String, runs: [String]?) throws {
        guard FileManager.default.fileExists(atPath: directory) else {
            throw CommandError("\(runDirectory): its sweep directory \(directory) does not exist: not started")
        }
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/runs")) ?? []).sorted()
        let ids = runs ?? present
        var byState: [String: [String]] = [:]
        var lines: [String] = []
        for id in ids {
            let run = directory + "/runs/" + id
            let (status, detail) = present.contains(id) ? (try? runState(run, requireStatus: false)) ?? ("unknown", "") : ("not started", "")
            let state = withLockHolder(status, run)   // "running (pid … on host …)", or "killed: …"
            let kind = state.hasPrefix("killed") ? "killed" : status
            byState[kind, default: []].append(id)
            if kind != "finished" && kind != "not started" {
                lines.append("  \(id): \(state)\(detail.isEmpty ? "" : " — \(detail)")")
            }
        }
        let order = ["finished", "running", "stopped", "killed", "failed", "not started"]
        let counts = (order + byState.keys.filter { !order.contains($0) }.sorted()).compactMap { k in
            byState[k].map { "\($0.count) \(k)" }
        }
        let rows = ResultsTable.ids(directory + "/results.csv").count
        let slurm = slurmJob(of: directory).map { id in ", Slurm job \(id)" + (Sbatch.queueState(id).map { " (\($0.lowercased()))" } ?? "") } ?? ""
        print("\(directory): sweep of \(ids.count) run\(ids.count == 1 ? "" : "s")\(runs == nil ? " with a directory" : ""): \(counts.isEmpty ? "none" : counts.joined(separator: ", ")); results.csv has \(rows) row\(rows == 1 ? "" : "s")\(slurm)")
        for line in lines { print(line) }
        if byState["failed"] != nil { throw ExitCode(1) }
    }

    private func slurmJob(of directory: String) -> String? {
        (try? String(contentsOfFile: directory + "/slurm/job-id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// status.json's state and detail ("not started" when it has none, unless it is required).
    private func runState(_ directory: String, requireStatus: Bool) throws -> (String, String) {
        if let data = FileManager.default.contents(atPath: directory + "/status.json"),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            return (object["status"] as? String ?? "unknown", object["detail"] as? String ?? "")
        }
        if requireStatus { throw CommandError("\(directory): not a run directory (no status.json) nor a sweep directory (no runs/)") }
        return ("not started", "")
    }

    /// A run that status.json calls running: the process holding its lock (the kernel drops it however the
    /// process ends), or killed.
    private func withLockHolder(_ state: String, _ directory: String) -> String {
        guard state == "running" && FileManager.default.fileExists(atPath: directory + "/.lock") else { return state }
        return RunLock.holder(directory).map { "running (\($0))" }
            ?? "killed: status.json says running, but no process holds the run (run the same command to resume)"
    }
}
