// ReportCommand.swift — `descent report RUN_DIR`: SVG plots of a run's loss and error curves.
import ArgumentParser
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a run's loss and error curves (train and test) as SVG.",
        discussion: "Reads RUN_DIR/metrics.csv and writes RUN_DIR/plots/loss.svg and RUN_DIR/plots/error.svg."
    )

    @Argument(help: "A run directory (runs/<name>).")
    var runDirectory: String

    func run() throws {
        try failing {
            for path in try RunReport.write(runDirectory: runDirectory) { print(path) }
        }
    }
}
