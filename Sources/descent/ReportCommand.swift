// ReportCommand.swift — `descent report RUN_DIR`: SVG plots of a run's loss and error curves.
import ArgumentParser
import Foundation
import Report
import Sweep

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a run's loss and error curves (train and test) as SVG.",
        discussion: "Reads RUN_DIR/metrics.csv and writes RUN_DIR/plots/loss.svg and RUN_DIR/plots/error.svg. For a sweep directory (results.csv): capacity.svg and loss.svg (error and loss against parameter count: means over runs of equal size, e.g. seeds, with their range shaded; the interpolation threshold n·K marked when --threshold is given or the sweep file is beside it), epochs.svg (training error against epoch for each corruption or label-noise level) and results.md."
    )

    @Argument(help: "A run directory (runs/<name>) or a sweep directory (runs/<sweep name>).")
    var runDirectory: String

    @Option(help: "The interpolation threshold n·K (samples × classes) to mark on a sweep's figures.")
    var threshold: Double?

    func run() throws {
        try failing {
            if FileManager.default.fileExists(atPath: runDirectory + "/results.csv") {
                for path in try SweepReport.write(directory: runDirectory, threshold: threshold) { print(path) }
                return
            }
            for path in try RunReport.write(runDirectory: runDirectory) { print(path) }
        }
    }
}
