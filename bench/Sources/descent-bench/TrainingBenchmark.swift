// TrainingBenchmark.swift — Descent's side of bench/compare.sh, the side-by-side comparison with PyTorch CPU:
// seconds per training epoch of MLP 784-1024-10 and LeNet-5 on the real Fashion-MNIST (`epoch`), µs per step of
// an MLP 784-H-10 on a 4,000-image stratified subset (`sweep`), and the cblas_sgemm 1024³ peak (`peak`). Each
// prints JSON lines in the schema of bench/pytorch/train.py and width_sweep.py. The run takes the path
// `descent train` takes — a Job (jobs/fmnist-*.toml with the benchmark's settings pinned by overrides), the Data
// module's loader and preprocessing, the model spec, the real Trainer — without the run directory; the time of
// an epoch is the Trainer's own (the training loop only, not the evaluation that follows it).
#if canImport(Glibc)
import Glibc
#endif
import Data
import Distributed
import Job
import Layers
import Optim
import Tensor
import Report
import Train

enum TrainingBenchmark {
    /// The settings of bench/pytorch/train.py, pinned over whatever the job file says: seed 0, pixels in [0, 1],
    /// ReLU, Kaiming-normal weights and zero biases, no dropout or BatchNorm, batch 128, SGD lr 0.01 momentum 0.9
    /// Nesterov without weight decay or schedule, cross-entropy, the test set evaluated after every epoch.
    static let pinned = [
        "run.seed=0", "data.set=fashion-mnist", "data.normalize=unit", "data.label_noise=0", "data.corruption=none",
        "data.negative=none", "model.activation=relu", "model.init=kaiming_normal", "model.dropout=0",
        "model.batchnorm=false", "optim.batch_size=128", "optim.loss=cross_entropy", "optim.lr=0.01",
        "optim.momentum=0.9", "optim.dampening=0", "optim.nesterov=true", "optim.l2=0", "optim.l1=0",
        "optim.schedule=constant", "optim.warmup_epochs=0", "eval.every=1", "eval.train=false",
        "run.stop_at_zero_train_error=false",
    ]

    /// The job of `model` ("mlp" or "lenet5"): `jobPath` (default jobs/fmnist-<model>.toml) with `pinned` and
    /// then `extra` applied.
    static func job(model: String, jobPath: String?, extra: [String]) throws -> Job {
        let path = jobPath ?? "jobs/fmnist-\(model).toml"
        return try Job(path: path, overrides: pinned + extra)
    }

    /// A Trainer for `job` on already prepared data, built by TrainingRun exactly as `descent train` builds it;
    /// data parallel over `communicator` (its shared window is released with the process).
    static func trainer(_ job: Job, train: PreparedSplit, test: PreparedSplit,
                        communicator: Communicator = .solo) throws -> (Trainer, ModelSpec) {
        let (trainer, _) = try TrainingRun.trainer(job, train: train, test: test, world: communicator)
        return (trainer, try job.modelSpec())
    }

    /// The model's layers on one line ("conv1 Conv2D(…) [6, 28, 28] 156; …"), from Model.summary.
    static func layerList(_ model: Model) -> String {
        model.summary.split(separator: "\n").dropFirst().map { $0.split(separator: " ").joined(separator: " ") }
            .joined(separator: "; ")
    }

    /// cblas_sgemm 1024³ in GFLOP/s at the thread count OpenBLAS has now, as a JSON line.
    static func sgemmLine(reps: Int, when: String) -> String {
        let gflops = KernelBenchmark(reps: reps).sgemmPeak() / 1e9
        return json([("framework", .s("descent")), ("kind", .s("sgemm")), ("n", .i(1024)), ("threads", .i(BLAS.threads)),
                     ("when", .s(when)), ("gflops", .d(gflops, 2))])
    }

    /// `descent-bench epoch`: 1 warm-up + `epochs` timed epochs of the full training set at `threads` OpenBLAS
    /// threads, on one process or data parallel under mpirun (global batch 128 split over the ranks). Rank 0
    /// prints a setup line (parameters, architecture, processes), the sgemm peak before and after, one line per
    /// epoch in train.py's schema (the first marked "warmup") with this rank's per-phase seconds, and a summary
    /// with the median of the timed epochs.
    static func epochs(model name: String, epochs: Int, threads: Int, jobPath: String?, sgemmReps: Int) throws {
        guard name == "mlp" || name == "lenet5" else { throw BenchError("--model must be mlp or lenet5, got \(name)") }
        guard epochs >= 1 else { throw BenchError("--epochs must be ≥ 1") }
        let world = MPIRuntime.start()
        defer { MPIRuntime.finish() }
        BLAS.setThreads(threads)
        var extra = ["run.epochs=\(epochs + 1)", "model.architecture=\(name)"]
        if name == "mlp" { extra.append("model.hidden=[1024]") }
        let job = try job(model: name, jobPath: jobPath, extra: extra)
        let (train, test) = try TrainingRun.loadData(job)
        let (trainer, spec) = try trainer(job, train: train, test: test, communicator: world)
        let say = { (line: String) in if world.isRoot { emit(line) } }
        let base: [(String, JSONValue)] = [("framework", .s("descent")), ("model", .s(name)), ("threads", .i(threads))]
            + (world.size > 1 ? [("processes", .i(world.size))] : [])
        say(json(base + [("kind", .s("setup")), ("parameters", .i(trainer.model.parameterCount)),
                         ("architecture", .s(spec.canonical)), ("layers", .s(layerList(trainer.model))), ("job", .s(job.source)),
                         ("train_samples", .i(train.count)), ("test_samples", .i(test.count)),
                         ("batch", .i(trainer.settings.batchSize)), ("steps_per_epoch", .i(trainer.stepsPerEpoch)),
                         ("optimizer", .s("\(trainer.sgd) lr \(trainer.learningRate)")),
                         ("gradient_reduction", .s(trainer.sync.strategy.rawValue)),
                         ("blas_threads", .i(BLAS.threads)), ("openblas", .s(BLAS.configuration))]))
        say(sgemmLine(reps: sgemmReps, when: "before"))
        var timed: [Double] = []
        var fenceBefore = 0.0
        trainer.onEpoch = { [unowned trainer] m in
            let warmup = m.epoch == 1
            if !warmup { timed.append(m.seconds) }
            let p = trainer.phaseSeconds
            let fences = trainer.sync.fenceSeconds - fenceBefore
            fenceBefore = trainer.sync.fenceSeconds
            say(json(base + [("epoch", .i(m.epoch)), ("seconds", .d(m.seconds, 4)),
                             ("train_loss", .d(m.batchLoss ?? .nan, 5)), ("test_accuracy", .d(1 - m.testError, 4)),
                             ("data_s", .d(p.data, 4)), ("forward_s", .d(p.forward, 4)), ("backward_s", .d(p.backward, 4)),
                             ("reduction_update_s", .d(p.reduction, 4)), ("fence_wait_s", .d(fences, 4))]
                     + (warmup ? [("warmup", .b(true))] : [])))
        }
        _ = try trainer.run()
        say(sgemmLine(reps: sgemmReps, when: "after"))
        say(json(base + [("kind", .s("summary")), ("epochs", .i(timed.count)), ("median_seconds", .d(median(timed), 4))]))
    }

    /// `descent-bench sweep`: for each width H, an MLP 784-H-10 on a stratified subset of `n` training images,
    /// 1 warm-up + `epochs` timed epochs; one line per H in width_sweep.py's schema (median epoch in ms, that
    /// over the steps per epoch in µs, and the median of the single step times — the last step of each epoch is
    /// not among those, as the Trainer offers no hook after it).
    static func sweep(widths: [Int], n: Int, epochs: Int, threads: Int, jobPath: String?) throws {
        guard !widths.isEmpty, widths.allSatisfy({ $0 >= 1 }) else { throw BenchError("--widths needs widths ≥ 1") }
        guard epochs >= 3 else { throw BenchError("--epochs must be ≥ 3 (as in width_sweep.py)") }
        BLAS.setThreads(threads)
        // The test set is evaluated after each epoch (not timed); 1,000 test images keep that short.
        let common = ["run.epochs=\(epochs + 1)", "model.architecture=mlp", "data.subset=\(n)",
                      "data.subset_mode=stratified", "data.test_subset=1000"]
        let first = try job(model: "mlp", jobPath: jobPath, extra: common + ["model.hidden=[\(widths[0])]"])
        let (train, test) = try TrainingRun.loadData(first)   // the same data for every width
        for h in widths {
            let job = try job(model: "mlp", jobPath: jobPath, extra: common + ["model.hidden=[\(h)]"])
            let (trainer, spec) = try trainer(job, train: train, test: test)
            let steps = trainer.stepsPerEpoch
            var epochSeconds: [Double] = [], stepSeconds: [Double] = []
            var lastLoss = Double.nan
            var previous = 0.0
            var phases: [Trainer.PhaseSeconds] = []
            trainer.shouldStop = { [unowned trainer] in
                let t = now()
                if trainer.position.stepInEpoch > 0 && trainer.position.epoch > 0 { stepSeconds.append(t - previous) }
                previous = t
                return false
            }
            trainer.onEpoch = { m in
                lastLoss = m.batchLoss ?? .nan
                if m.epoch > 1 { epochSeconds.append(m.seconds); phases.append(trainer.phaseSeconds) }
            }
            _ = try trainer.run()
            let med = median(epochSeconds)
            let perStep = { (phase: KeyPath<Trainer.PhaseSeconds, Double>) in median(phases.map { $0[keyPath: phase] }) / Double(steps) * 1e6 }
            emit(json([("framework", .s("descent")), ("model", .s("mlp-784-\(h)-10")), ("hidden", .i(h)),
                       ("threads", .i(threads)), ("n", .i(train.count)), ("steps_per_epoch", .i(steps)),
                       ("epochs", .i(epochSeconds.count)), ("ms_per_epoch", .d(med * 1e3, 3)),
                       ("us_per_step", .d(med / Double(steps) * 1e6, 1)),
                       ("us_per_step_median_of_steps", .d(median(stepSeconds) * 1e6, 1)),
                       ("us_data", .d(perStep(\.data), 1)), ("us_forward", .d(perStep(\.forward), 1)),
                       ("us_backward", .d(perStep(\.backward), 1)), ("us_update", .d(perStep(\.reduction), 1)),
                       ("train_loss", .d(lastLoss, 5)), ("parameters", .i(trainer.model.parameterCount)),
                       ("architecture", .s(spec.canonical))]))
        }
    }

    /// `descent-bench peak`: cblas_sgemm 1024³ GFLOP/s at each thread count, one JSON line each.
    static func peak(threads: [Int], reps: Int) {
        emit(json([("framework", .s("descent")), ("kind", .s("blas")), ("openblas", .s(BLAS.configuration))]))
        for t in threads {
            BLAS.setThreads(t)
            emit(sgemmLine(reps: reps, when: "standalone"))
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Prints a line and flushes, so that a driver piping the output sees each line as it comes.
func emit(_ line: String) {
    print(line)
    fflush(nil)   // all output streams (stdout is not concurrency-safe to name in Swift 6)
}

// MARK: - JSON lines (flat objects, keys in the order given)

enum JSONValue {
    case s(String), i(Int), d(Double, Int), b(Bool)

    var text: String {
        switch self {
        case .s(let v): return jsonQuoted(v)
        case .i(let v): return String(v)
        case .d(let v, let digits): return v.isFinite ? fixed(v, digits) : "null"
        case .b(let v): return v ? "true" : "false"
        }
    }
}

func json(_ pairs: [(String, JSONValue)]) -> String {
    "{" + pairs.map { "\(jsonQuoted($0.0)):\($0.1.text)" }.joined(separator: ",") + "}"
}
