// Descent.swift — the `descent` command: a distributed neural-network trainer for CPU clusters. Each
// subcommand lives in its own file; errors reach the user as one line and a non-zero exit status.
import ArgumentParser
import Foundation

@main
struct Descent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Train neural networks on CPU clusters: data-parallel SGD over MPI on OpenBLAS.",
        discussion: """
        Every subcommand runs the same on one rank or under `mpirun -np P` / `srun`.
        Job files are TOML; `descent train --help` lists every key.
        """,
        subcommands: [TrainCommand.self, SweepCommand.self, SubmitCommand.self, StatusCommand.self, InspectCommand.self, GlassCommand.self, PredictCommand.self, ReportCommand.self, DataCommand.self, DocsCommand.self]
    )
}

/// Prints `message` as one line on standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data(("descent: " + message + "\n").utf8))
}

/// Runs `body`; a thrown error becomes one line on standard error (unless `printing` is false: the other
/// ranks of a job that failed the same way everywhere) and exit status 1.
func failing(printing: Bool = true, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        if printing { printError("\(error)") }
        throw ExitCode(1)
    }
}
