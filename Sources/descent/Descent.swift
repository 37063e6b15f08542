// Descent.swift — the `descent` command: a distributed neural-network trainer for CPU clusters. Each
// subcommand lives in its own file; errors reach the user as one line and a non-zero exit status.
import ArgumentParser
import Checkpoint
import Distributed
import Foundation
import Tensor

@main
struct Descent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "descent",
        abstract: "Train neural networks on CPU clusters: data-parallel SGD over MPI on OpenBLAS.",
        discussion: """
        Every subcommand runs the same on one rank or under `mpirun -np P` / `srun`.
        Job files are TOML; `descent train --help` lists every key.
        """,
        version: CheckpointFormat.descentVersion,
        subcommands: [TrainCommand.self, SweepCommand.self, SubmitCommand.self, StatusCommand.self, InspectCommand.self, GlassCommand.self, PredictCommand.self, ReportCommand.self, DataCommand.self, DocsCommand.self]
    )

    static func main() {
        BLASKernels.useTheCPUsKernels()   // may execute the program again, with OPENBLAS_CORETYPE set
        Denormals.flushToZero()
        main(nil)
    }
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

/// Runs `body` with MPI started, and finalises MPI after it. An error is printed by rank 0 while MPI still runs,
/// and the ranks meet at a barrier before finalising: otherwise another rank's exit with status 1 could end the
/// job (mpirun aborts the rest) before rank 0's line is out. Errors after MPI starts are agreed by every rank
/// (`agreeing`), or abort the job (`MPIRuntime.fail`), so every rank that gets here reaches the barrier.
/// Only the launcher's rank 0 prints (when srun started P tasks that each see a world of 1, only one prints).
func withMPI(_ launcher: Launcher, environment: [String: String], _ body: (Communicator) throws -> Void) throws {
    let printing = launcher.printsBeforeMPI
    if printing, let warning = launcher.unsafeFence(environment, mpiConf: slurmMPIConf(environment)) {
        printError(warning)
    }
    let world = MPIRuntime.start()
    do {
        try body(world)
    } catch let exit as ExitCode {
        MPIRuntime.finish()
        throw exit
    } catch {
        if printing && world.isRoot { printError("\(error)") }
        world.barrier()
        MPIRuntime.finish()
        throw ExitCode(1)
    }
    MPIRuntime.finish()
}

/// Slurm's mpi.conf (beside slurm.conf: $SLURM_CONF's folder, else /etc/slurm), if this node has one.
private func slurmMPIConf(_ environment: [String: String]) -> String? {
    let folder = environment["SLURM_CONF"].map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "/etc/slurm"
    return try? String(contentsOfFile: folder + "/mpi.conf", encoding: .utf8)
}
