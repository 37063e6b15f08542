// ReductionBenchmark.swift — `descent-bench reduction` under mpirun: the time of one gradient reduction plus SGD
// update (GradientSync.step) for flat vectors of 1K to 4M floats, sharded (reduce-scatter, update a slice,
// allgather) against allreduce (update everything), side by side in one run. Chooses
// GradientSync.Strategy.allreduceBelow; results in bench/results/reduction.md.
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
        table += "| floats | allreduce µs | sharded µs | sharded / allreduce |\n|---:|---:|---:|---:|\n"
        for count in [1 << 10, 1 << 12, 1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 20, 1 << 22] {
            var times: [GradientSync.Strategy: Double] = [:]
            for strategy in GradientSync.Strategy.allCases {
                let sync = GradientSync(communicator: world, strategy: strategy, parameterCount: count, needsMomentum: true)
                let parameters = FlatVector(count: count), gradients = FlatVector(count: count)
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
            }
            let (a, s) = (times[.allreduce]!, times[.sharded]!)
            table += "| \(count) | \(fmt(a)) | \(fmt(s)) | \(fmt(s / a, 2)) |\n"
        }
        if world.isRoot {
            print(table, terminator: "")
            if let out { writeFile(out, table) }
        }
    }

    private static func fmt(_ x: Double, _ digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return "\((x * scale).rounded() / scale)"
    }
}
