// StatusCommand.swift — `descent status RUN_DIR`: where a run stands, from its run directory (status.json,
// metrics, checkpoints) and, for a submitted run, from Slurm (squeue, then sacct).
import ArgumentParser
import Checkpoint
import Foundation
import Report
import Slurm
import Train

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a run's state (running, pending, requeued n times, stopped, finished, failed), its last epoch and metrics.",
        discussion: "Reads RUN_DIR/status.json, metrics.csv and checkpoints/; for a run submitted with descent submit, asks squeue (and sacct) about its Slurm job. A run that status.json calls running is shown with the process that holds its run directory's lock, or as killed when none does. Exit status 1 when the run failed, else 0."
    )

    @Argument(help: "A run directory (runs/<name>).")
    var runDirectory: String

    func run() throws {
        try failing {
            let statusPath = runDirectory + "/status.json"
            let jobIDPath = runDirectory + "/slurm/job-id"
            let jobID = (try? String(contentsOfFile: jobIDPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            var state = "not started"
            var detail = ""
            if let data = FileManager.default.contents(atPath: statusPath),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                state = object["status"] as? String ?? "unknown"
                detail = object["detail"] as? String ?? ""
            } else if jobID == nil {
                throw CommandError("\(runDirectory): not a run directory (no status.json)")
            }
            if let jobID {
                if let queued = Sbatch.queueState(jobID) {
                    // A requeued job waits in the queue as PENDING while status.json still says "stopped".
                    state = queued == "PENDING" && state == "stopped" ? "requeued, pending" : queued.lowercased()
                } else if state == "running", let final = Sbatch.finalState(jobID) {
                    state = "\(state) (Slurm: \(final))"   // the job ended without the run saying so: killed
                }
            }
            // The training process holds the run directory's lock; the kernel drops it however the process ends.
            if state == "running" && FileManager.default.fileExists(atPath: runDirectory + "/.lock") {
                state = RunLock.holder(runDirectory).map { "running (\($0))" }
                    ?? "killed: status.json says running, but no process holds the run (run the same command to resume)"
            }
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
    }
}
