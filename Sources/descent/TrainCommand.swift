// TrainCommand.swift — `descent train JOB`: one training run, described by a job file.
import ArgumentParser
import Distributed
import Foundation
import Job
import Train

struct TrainCommand: ParsableCommand {
    // The key reference is wrapped to fewer than 80 columns, the width the help is laid out for off a terminal;
    // longer lines would be wrapped again by ArgumentParser and lose their indentation.
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model as a job file describes.",
        discussion: "Runs on one rank as is, data-parallel under `mpirun -np P descent train JOB` or `srun --mpi=pmix descent train JOB` (every rank runs the same command; rank 0 prints and writes the run directory).\n\nJob file keys (table.key: type, default — meaning):\n\n" + JobDocumentation.text(width: 79)
    )

    @Argument(help: "The job file (TOML), e.g. jobs/fmnist-mlp.toml.")
    var job: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key of the job file, e.g. --set optim.lr=0.05 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Print only the start-up table and the final line, not one line per epoch.")
    var quiet = false

    @Option(name: .customLong("check-sync"), help: ArgumentHelp("Every N steps, check that all ranks hold bitwise identical parameters (a hash compared across ranks); stops the job if not. 0: never.", valueName: "N"))
    var checkSync = 0

    @Option(name: .customLong("debug-log"), help: ArgumentHelp("Every rank appends to DIR/rank-R.log: where it runs, its BLAS threads and shard, and per epoch its training time and the part spent in gradient reduction.", valueName: "DIR"))
    var debugLog: String?

    @Option(help: ArgumentHelp("Where to continue from: auto (the run directory's newest valid checkpoint, if any; the default) or a checkpoint file.", valueName: "auto|PATH"))
    var resume = "auto"

    @Flag(name: .customLong("no-resume"), help: "Start over even if the run directory holds checkpoints: once the job and the data have passed their checks, the earlier run's checkpoints are deleted (those marked with a .keep file are moved to checkpoints/earlier-run-<id>/).")
    var noResume = false

    func run() throws {
        StopSignals.install()   // before the data loads: a signal then stops the run at its first step boundary
        let environment = ProcessInfo.processInfo.environment
        let launcher = Launcher.detect(environment)
        // Every rank parses the job before MPI starts and fails the same way; only the launcher's rank 0 prints.
        try failing(printing: launcher.printsBeforeMPI) {
            guard checkSync >= 0 else { throw CommandError("--check-sync must be ≥ 0, got \(checkSync)") }
            let job = try Job(path: job, overrides: overrides)
            if let problem = launcher.missingPMIx(environment) { throw CommandError(problem) }
            try withMPI(launcher, environment: environment) { world in
                if let problem = launcher.mismatch(mpiSize: world.size) { throw CommandError(problem) }
                let run = TrainingRun(job: job, printer: ConsolePrinter(quiet: quiet), world: world)
                run.checkSyncEvery = checkSync
                run.environment = environment
                run.debugLogDirectory = debugLog
                run.resume = noResume ? .never : resume == "auto" ? .auto : .path(resume)
                let result = try run.execute()
                if result.outcome == .stopped { throw ExitCode(StopSignals.exitCode) }
            }
        }
    }
}
