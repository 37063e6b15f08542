// TrainingRun.swift — one run from a job, on every rank of a communicator: check everything, load and prepare
// the data, build and initialise the model, then hand over to the Trainer; rank 0 records each epoch in the run
// directory. Nothing is created on disk until every input has been validated on every rank, so a bad job or
// data file leaves nothing behind. Errors before training are agreed by all ranks (one line, clean exit);
// an error inside the training loop aborts the job from the rank that saw it.
import Checkpoint
import Data
import Distributed
import Job
import Layers
import Optim
import Report
import Tensor
#if canImport(Glibc)
import Glibc
#endif

public final class TrainingRun {
    public let job: Job
    public let printer: ConsolePrinter
    public let world: Communicator
    /// Check every this many steps that all ranks hold identical parameters (0: never).
    public var checkSyncEvery = 0
    /// The environment (launcher variables, OPENBLAS_NUM_THREADS, DESCENT_FAULT).
    public var environment: [String: String] = [:]
    /// When set, every rank writes DIR/rank-R.log (DebugLog).
    public var debugLogDirectory: String?

    public struct Result: Sendable {
        public let outcome: Trainer.Outcome
        public let runDirectory: String
        public let last: EpochMetrics?
        public let parameterCount: Int
    }

    public init(job: Job, printer: ConsolePrinter, world: Communicator = .solo) {
        self.job = job
        self.printer = printer
        self.world = world
        printer.enabled = printer.enabled && world.isRoot
    }

    /// The data options of [data].
    public static func dataOptions(_ job: Job) -> DataOptions {
        var o = DataOptions()
        o.seed = UInt64(job.int("run.seed"))
        o.subset = job.int("data.subset")
        o.subsetMode = DataOptions.SubsetMode(rawValue: job.string("data.subset_mode"))!
        o.testSubset = job.int("data.test_subset")
        o.normalization = DataOptions.Normalization(rawValue: job.string("data.normalize"))!
        o.mean = job.doubles("data.mean")?.map { Float($0) }
        o.std = job.doubles("data.std")?.map { Float($0) }
        let negative = job.string("data.negative")
        o.negativeTrain = negative == "train" || negative == "both"
        o.negativeTest = negative == "test" || negative == "both"
        o.labelNoise = Float(job.double("data.label_noise"))
        o.corruption = DataOptions.Corruption(rawValue: job.string("data.corruption"))!
        o.corruptTest = job.bool("data.corrupt_test")
        return o
    }

    /// Loads both splits as the job says.
    public static func loadData(_ job: Job) throws -> (train: PreparedSplit, test: PreparedSplit) {
        let kind = DataSetKind(rawValue: job.string("data.set"))!
        return try DataSets.prepare(kind, directory: job.optionalString("data.path"), dataOptions(job))
    }

    /// Writes the model as it stands to <run>/final.h5 (checkpoint layout; `descent predict` reads it).
    func saveFinalModel(_ trainer: Trainer, momentum: [Float], directory: RunDirectory) throws {
        let model = trainer.model
        var state = TrainingState()
        state.epoch = trainer.position.epoch
        state.stepInEpoch = trainer.position.stepInEpoch
        state.globalStep = trainer.position.globalStep
        state.seed = trainer.settings.seed
        state.learningRate = Double(trainer.learningRate.rate(epoch: max(trainer.position.epoch - 1, 0), globalStep: max(trainer.position.globalStep - 1, 0)))
        let metrics = ((try? MetricsTable.load(directory.metricsCSV))?.rows ?? []).map(\.values)
        let contents = CheckpointContents(
            modelSpec: try job.modelSpec().canonical, job: job.effectiveTOML, inputShape: model.inputShape,
            classes: trainer.train.classes, layout: model.layout, bufferLayout: model.stateLayout,
            parameters: model.parameters.values, buffers: model.state.values,
            momentum: trainer.sgd.hasState ? momentum : nil, state: state,
            shift: trainer.test.transform.shift, scale: trainer.test.transform.scale,
            metricsColumns: MetricsTable.columns, metrics: metrics)
        let path = directory.path + "/final.h5"
        try CheckpointFile.write(contents, to: path + ".tmp")
        try directory.commit(path + ".tmp", as: path)
    }

    @discardableResult
    public func execute() throws -> Result {
        let started = monotonicSeconds()
        // 1. Everything that can be wrong with the job or the data, on every rank, before anything is written.
        let spec = try job.modelSpec()
        let sgd = try job.sgd()
        let loss = job.loss()
        _ = try job.checkpointEvery()
        let threads = configureThreads()
        let (train, test) = try world.agreeing { try TrainingRun.loadData(job) }
        let batch = job.int("optim.batch_size")
        let model = try spec.build(input: train.shape, classes: train.classes,
                                   maxBatch: max(batch, min(job.int("eval.batch_size"), max(test.count, train.count))))
        model.initialize(seed: UInt64(job.int("run.seed")), spec.initializer, gain: spec.gain)
        var settings = Trainer.Settings(epochs: job.int("run.epochs"), batchSize: batch, seed: UInt64(job.int("run.seed")),
                                        evaluateTrainingSet: job.bool("eval.train"), evaluateEvery: job.int("eval.every"),
                                        stopAtZeroTrainError: job.bool("run.stop_at_zero_train_error"),
                                        checkSyncEvery: checkSyncEvery)
        if let fault = environment["DESCENT_FAULT"] {
            guard let parsed = Trainer.InjectedFault(fault) else {
                throw JobError("DESCENT_FAULT='\(fault)': expected fail:RANK:STEP or desync:RANK:STEP")
            }
            settings.injectedFault = parsed
        }
        let steps = EpochPlan.steps(sampleCount: train.count, batchSize: batch)
        let strategy = GradientSync.Strategy(rawValue: job.string("run.gradient_reduction"))
            ?? .automatic(parameters: model.parameterCount, ranks: world.size)
        let sync = GradientSync(communicator: world, strategy: strategy, parameterCount: model.parameterCount,
                                needsMomentum: sgd.hasState)
        let trainer = Trainer(settings: settings, model: model, loss: loss, sgd: sgd,
                              learningRate: try job.learningRate(stepsPerEpoch: steps), train: train, test: test, sync: sync)

        let log = try world.agreeing { try debugLogDirectory.map { try DebugLog(directory: $0, rank: world.rank) } }
        log?.write("rank \(world.rank) of \(world.size), \(DebugLog.processDescription), \(threads.threads) BLAS thread(s) (\(threads.reason)), \(threads.localRanks) rank(s) on this node")
        log?.write("job \(job.source), \(train.count) training samples, global batch \(batch), \(steps) steps per epoch, gradients \(strategy.rawValue), momentum slice \(sync.momentumRange)")

        // 2. The run directory (rank 0), and the start-up table.
        let directory = try world.agreeing { try RunDirectory(path: job.runDirectory) }
        try world.agreeing { if world.isRoot { try directory.begin(job: job) } }
        printer.startTable(job: job, model: model, spec: spec, train: train, test: test, stepsPerEpoch: steps,
                           directory: directory.path, extra: [
                               ("ranks", "\(world.size) (\(threads.localRanks) on this node) · gradients \(strategy.rawValue)"),
                           ], threads: "\(threads.threads) per rank (\(threads.reason))")
        if let warning = threads.oversubscription { printer.note(warning) }

        // 3. Train; rank 0 writes one metrics row per epoch.
        var last: EpochMetrics?
        trainer.onEpoch = { [unowned trainer] metrics in
            log?.write("epoch \(metrics.epoch): \(metrics.seconds) s training, of which \(trainer.syncSeconds) s in gradient reduction and update; samples read from disk so far: train \(train.samplesRead), test \(test.samplesRead)")
            if self.world.isRoot { try directory.append(metrics) }
            self.printer.epoch(metrics, of: settings.epochs, elapsed: monotonicSeconds() - started)
            last = metrics
        }
        let outcome: Trainer.Outcome
        do {
            outcome = try trainer.run()
        } catch {
            // The rank that failed records it (rank 0 may be killed by the abort before it could).
            let who = world.size > 1 ? "rank \(world.rank): " : ""
            log?.write("failed: \(error)")
            try? directory.finish(status: "failed", detail: who + "\(error)")
            if world.size > 1 { MPIRuntime.fail("\(error)") }   // the other ranks are in a collective: abort them
            throw error
        }
        // 4. The final model (momentum gathered from its shards), status and plots.
        let momentum = sync.gatheredMomentum()
        try world.agreeing {
            guard world.isRoot else { return }
            do {
                try saveFinalModel(trainer, momentum: momentum, directory: directory)
                try directory.finish(status: outcome == .stopped ? "stopped" : "finished", detail: "\(outcome)")
            } catch {
                try? directory.finish(status: "failed", detail: "\(error)")
                throw error
            }
        }
        let plots = world.isRoot ? (try? RunReport.write(runDirectory: directory.path)) ?? [] : []
        printer.finish(outcome: outcome, last: last, directory: directory.path, plots: plots, seconds: monotonicSeconds() - started)
        return Result(outcome: outcome, runDirectory: directory.path, last: last, parameterCount: model.parameterCount)
    }

    /// Sets OpenBLAS's thread count for this rank (ThreadPlan) and returns the plan.
    private func configureThreads() -> ThreadPlan {
        let localRanks = world.node().size
        let plan = ThreadPlan.choose(env: environment, localRanks: localRanks, cores: ThreadPlan.nodeCores)
        BLAS.setThreads(plan.threads)
        return plan
    }
}
