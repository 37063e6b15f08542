// CheckpointBenchmark.swift — `mpirun -np 2 descent-bench checkpoint`: write bandwidth of a checkpoint with
// ≥ 64 MiB of state (parameters + momentum, each rank writing its slices collectively, flushed with
// MPI_File_sync and then fsync as Checkpointer.save commits),
// against `dd if=/dev/zero bs=1M conv=fdatasync` of the same size on the same disk, alternating, in one run.
// Results in bench/results/checkpoint.md.
import Checkpoint
import Distributed
import Foundation
import Layers
import Train

enum CheckpointBenchmark {
    static func run(megabytes: Int, reps: Int, directory: String, out: String?) throws {
        let world = MPIRuntime.start()
        defer { MPIRuntime.finish() }
        let floats = megabytes * (1 << 20) / 8          // parameters and momentum: half the bytes each
        let parameters = (0..<floats).map { Float($0 % 1000) * 1e-3 }
        let (lo, hi) = (world.rank * floats / world.size, (world.rank + 1) * floats / world.size)
        var state = TrainingState()
        state.worldSize = world.size
        var c = CheckpointContents(modelSpec: "bench", job: "", inputShape: [floats], classes: 1,
                                   layout: [LayoutEntry(name: "w", offset: 0, shape: [floats])], bufferLayout: [],
                                   parameters: parameters, buffers: [], momentum: Array(parameters[lo..<hi]), state: state,
                                   shift: [0], scale: [1], metricsColumns: [], metrics: [])
        c.momentumOffset = lo
        let share = WriteShare(communicator: world, parameters: lo..<hi)
        let path = directory + "/descent-bench-checkpoint.h5", ddPath = directory + "/descent-bench-dd.bin"
        var checkpointSeconds: [Double] = [], ddSeconds: [Double] = []
        for _ in 0..<reps {
            world.barrier()
            let t0 = monotonicSeconds()
            try CheckpointFile.write(c, to: path, share: share)
            if world.isRoot {   // as Checkpointer.save commits: fsync the file (a no-op if MPI_File_sync did it)
                let fd = open(path, O_RDONLY)
                fsync(fd)
                close(fd)
            }
            world.barrier()
            checkpointSeconds.append(monotonicSeconds() - t0)
            if world.isRoot {
                unlink(path)
                let dd = Process()
                dd.executableURL = URL(fileURLWithPath: "/bin/dd")
                dd.arguments = ["if=/dev/zero", "of=\(ddPath)", "bs=1M", "count=\(megabytes)", "conv=fdatasync"]
                dd.standardError = FileHandle.nullDevice
                let t1 = monotonicSeconds()
                try dd.run()
                dd.waitUntilExit()
                ddSeconds.append(monotonicSeconds() - t1)
                unlink(ddPath)
            }
            world.barrier()
        }
        guard world.isRoot else { return }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let (ck, dd) = (median(checkpointSeconds), median(ddSeconds))
        let mib = Double(megabytes)
        let io = ProcessInfo.processInfo.environment["OMPI_MCA_io"] ?? "default (ompio)"
        let table = """
        # descent-bench checkpoint: \(megabytes) MiB of state, \(world.size) ranks, median of \(reps), MPI-IO component \(io)

        | writer | median s | MiB/s |
        |---|---:|---:|
        | Descent checkpoint (collective HDF5, fsync) | \(fmt(ck)) | \(fmt(mib / ck)) |
        | dd bs=1M conv=fdatasync | \(fmt(dd)) | \(fmt(mib / dd)) |

        Checkpoint bandwidth / dd bandwidth: **\(Int((dd / ck * 100).rounded())) %** (target ≥ 70 %).
        All runs, s: checkpoint \(checkpointSeconds.map(fmt)), dd \(ddSeconds.map(fmt)).

        """
        print(table, terminator: "")
        if let out { writeFile(out, table) }
    }

    private static func fmt(_ x: Double) -> String { String(format: "%.3g", x) }
}
