// TrainCommand.swift — `descent train JOB`: one training run, described by a job file.
import ArgumentParser
import Job
import Train

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model as a job file describes.",
        discussion: "Job file keys (table.key: type, default — meaning):\n\n" + JobDocumentation.text(width: 100)
    )

    @Argument(help: "The job file (TOML), e.g. jobs/fmnist-mlp.toml.")
    var job: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key of the job file, e.g. --set optim.lr=0.05 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Print only the start-up table and the final line, not one line per epoch.")
    var quiet = false

    func run() throws {
        try failing {
            let job = try Job(path: job, overrides: overrides)
            _ = try TrainingRun(job: job, printer: ConsolePrinter(quiet: quiet)).execute()
        }
    }
}
