// SweepCommand.swift — `descent sweep SWEEP`: every run of a sweep file, across all ranks of the job.
import ArgumentParser
import Distributed
import Foundation
import Sweep
import Train

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train every run of a sweep file (a base job and a grid of overrides), groups of ranks in parallel.",
        discussion: """
        Under `mpirun -np P` or `srun`, the ranks form P / ranks_per_run groups; each group trains one run at a time, data \
        parallel, into SWEEP_DIR/runs/<run>/, and appends its row to SWEEP_DIR/results.csv and results.jsonl. Runs are handed \
        out as groups become free, the largest first (by parameters on the data's own sample shape; in the written order when \
        the data cannot be read); an interrupted run resumes from its checkpoint, and a finished run is \
        never trained again: run the same command to finish a sweep. In a Slurm array (descent submit SWEEP --array) task i \
        trains runs i, i + N, … of the grid. Each finished run prints its result and how many runs are done. A results \
        table edited by hand into another shape stops the sweep with one line naming its line (deleting the line is the \
        fix: a finished run's row comes back from its run directory). `descent report SWEEP_DIR` draws the figures.
        """
    )

    @Argument(help: "The sweep file (TOML): job, [set], [grid], ranks_per_run, order.")
    var sweep: String

    func run() throws {
        StopSignals.install()
        let environment = ProcessInfo.processInfo.environment
        let launcher = Launcher.detect(environment)
        try failing(printing: launcher.printsBeforeMPI) {
            let spec = try SweepSpec(path: sweep)
            if let problem = launcher.missingPMIx(environment) { throw CommandError(problem) }
            try withMPI(launcher, environment: environment) { world in
                var share: (task: Int, tasks: Int)? = nil
                if let task = environment["SLURM_ARRAY_TASK_ID"].flatMap({ Int($0) }), let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap({ Int($0) }) {
                    share = (task, count)
                }
                let runner = SweepRunner(spec: spec, world: world, arrayShare: share)
                runner.environment = environment
                let summary = try runner.run()
                if world.isRoot {
                    let stopped = summary.stopped > 0 ? ", \(summary.stopped) stopped by a signal (rerun the sweep to continue)" : ""
                    print("descent sweep: \(summary.trained) run(s) trained, \(summary.failed) failed\(stopped), \(summary.skipped) already done; results: \(spec.directory)/results.csv")
                }
                // A stopped sweep exits as a stopped run does (75), so that a Slurm job is requeued and resumes.
                if summary.stopped > 0 { throw ExitCode(StopSignals.exitCode) }
                if summary.failed > 0 { throw ExitCode(1) }
            }
        }
    }
}
