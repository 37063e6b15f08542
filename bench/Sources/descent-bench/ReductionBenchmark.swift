// ReductionBenchmark.swift — `descent-bench reduction` under mpirun: the time of one gradient reduction plus SGD
// update (GradientSync.step) for flat vectors of 1K to 4M floats, sharded (reduce-scatter, update a slice,
// allgather) and shared (sum and update slices in a node's shared memory) against allreduce (update
// everything), side by side in one run; then each phase alone at the MLP's size. Results in
// bench/results/reduction.md.
import Distributed
import Layers
import Optim
import Train
#if canImport(Glibc)
import Glibc
#endif

enum ReductionBenchmark {
    static func run(reps: Int, out: String?) throws {
        let world = MPIRuntime.start()
        defer { MPIRuntime.finish() }
        let sgd = try SGD(momentum: 0.9, nesterov: true)
        var table = "# descent-bench reduction: µs per gradient reduction + SGD update, \(world.size) ranks, median of \(reps)\n\n"
        table += "| floats | allreduce µs | sharded µs | shared µs | sharded / allreduce | shared / allreduce |\n|---:|---:|---:|---:|---:|---:|\n"
        for count in [1 << 10, 1 << 12, 1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 20, 1 << 22] {
            var times: [GradientSync.Strategy: Double] = [:]
            for strategy in GradientSync.Strategy.allCases {
                let sync = GradientSync(communicator: world, strategy: strategy, parameterCount: count, needsMomentum: true)
                let (parameters, gradients) = sync.sharedBuffers ?? (FlatVector(count: count), FlatVector(count: count))
                var samples: [Double] = []
                for rep in 0..<(reps + 3) {
                    for i in 0..<count { gradients.data[i] = Float(i % 7) * 1e-3 }
                    world.barrier()
                    let t0 = monotonicSeconds()
                    sync.step(parameters: parameters.data, gradients: gradients.data, sgd: sgd, lr: 0.01, firstStep: rep == 0)
                    // The slowest rank sets the pace of a step.
                    let elapsed = world.maximum(monotonicSeconds() - t0)
                    if rep >= 3 { samples.append(elapsed) }
                }
                times[strategy] = samples.sorted()[samples.count / 2] * 1e6
                sync.release()
            }
            let (a, s, w) = (times[.allreduce]!, times[.sharded]!, times[.shared]!)
            table += "| \(count) | \(fmt(a)) | \(fmt(s)) | \(fmt(w)) | \(fmt(s / a, 2)) | \(fmt(w / a, 2)) |\n"
        }
        table += breakdown(world: world, count: 814_090, reps: reps, sgd: sgd)
        if world.isRoot {
            print(table, terminator: "")
            if let out { writeFile(out, table) }
        }
    }

    /// Each phase of a step alone, at one size (default: the MLP-1024's 814,090 parameters): where the time of a
    /// reduction goes.
    static func breakdown(world: Communicator, count: Int, reps: Int, sgd: SGD) -> String {
        let parameters = FlatVector(count: count), gradients = FlatVector(count: count)
        let (counts, offsets) = GradientSync.slices(count, ranks: world.size)
        let r = world.rank, mine = Int(counts[r])
        let slice = FlatVector(count: mine), momentum = FlatVector(count: count)
        func median(_ body: () -> Void) -> Double {
            var samples: [Double] = []
            for rep in 0..<(reps + 3) {
                world.barrier()
                let t0 = monotonicSeconds()
                body()
                let elapsed = world.maximum(monotonicSeconds() - t0)
                if rep >= 3 { samples.append(elapsed) }
            }
            return samples.sorted()[samples.count / 2] * 1e6
        }
        let phases: [(String, Double)] = [
            ("MPI_Allreduce of all \(count) floats", median { world.allreduce(gradients.data, count: count) }),
            ("MPI_Reduce_scatter to a slice of \(mine)", median {
                world.reduceScatter(gradients.data, into: slice.data, counts: counts) }),
            ("SGD update of the slice", median {
                sgd.update(parameters: parameters.data + Int(offsets[r]), gradients: slice.data,
                           momentumBuffer: momentum.data, count: mine, lr: 0.01, firstStep: false) }),
            ("MPI_Allgatherv of the parameters", median {
                world.allgather(parameters.data, counts: counts, offsets: offsets) }),
            ("SGD update of all \(count)", median {
                sgd.update(parameters: parameters.data, gradients: gradients.data, momentumBuffer: momentum.data,
                           count: count, lr: 0.01, firstStep: false) }),
        ]
        var table = "\n## Phases at \(count) floats (median µs, slowest rank)\n\n| phase | µs |\n|---|---:|\n"
        for (name, us) in phases { table += "| \(name) | \(fmt(us)) |\n" }
        return table
    }

    private static func fmt(_ x: Double, _ digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return "\((x * scale).rounded() / scale)"
    }
}
