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
    /// Where the run's state comes from (default: the run directory's newest valid checkpoint, if any).
    public var resume = ResumeMode.auto
    /// The run's id, stored in its checkpoints (CheckpointRuns.swift); set once the run knows whether it resumes.
    var runID = ""
    /// The data it trains on (DataFingerprint), stored in its checkpoints and compared on resume.
    var dataFingerprint = ""
    /// The run's seconds before this attempt (from its checkpoint), and when this attempt started: checkpoints
    /// record the sum, so that a preempted run's time counts all its attempts.
    var wallBefore = 0.0, attemptStarted = 0.0

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
        o.flipRotate = job.string("data.augment") == "flip_rotate"
        return o
    }

    /// Loads both splits as the job says.
    public static func loadData(_ job: Job) throws -> (train: PreparedSplit, test: PreparedSplit) {
        let kind = DataSetKind(rawValue: job.string("data.set"))!
        if let path = job.optionalString("data.path"), !DataSets.isDirectory(path) {
            // Name the key and where it was set: a relative path is resolved against the current directory.
            let problem = access(path, F_OK) == 0 ? "is not a directory" : "no such directory"
            let relative = path.hasPrefix("/") ? "" : " (relative to the current directory, \(currentDirectory()))"
            throw JobError("\(job.origin(of: "data.path")): data.path = \"\(path)\": \(problem)\(relative)")
        }
        return try DataSets.prepare(kind, directory: job.optionalString("data.path"), dataOptions(job))
    }

    /// The state of the run as a checkpoint holds it; this rank's part of the momentum (collective-free). `ended`:
    /// how the run ended, once it has.
    func checkpointContents(_ trainer: Trainer, sync: GradientSync, history: [EpochMetrics], requeues: Int,
                            ended: Trainer.Outcome? = nil) throws -> CheckpointContents {
        let model = trainer.model
        var state = TrainingState()
        state.epoch = trainer.position.epoch
        state.stepInEpoch = trainer.position.stepInEpoch
        state.globalStep = trainer.position.globalStep
        state.seed = trainer.settings.seed
        state.worldSize = world.size
        state.requeueCount = requeues
        state.runID = runID
        state.reachedZeroTrainError = ended == .reachedZeroTrainError
        state.wallSeconds = wallBefore + monotonicSeconds() - attemptStarted
        let lr = trainer.learningRate.rate(epoch: trainer.position.epoch, globalStep: trainer.position.globalStep)
        state.learningRate = Double("\(lr)")!   // the Float's shortest decimal form
        let sums = trainer.epochSums.reduced(over: world)
        state.batchSums = [sums.loss, Double(sums.correct), Double(sums.count), Double(sums.samples)]
        var c = CheckpointContents(
            modelSpec: try job.modelSpec().canonical, job: job.effectiveTOML, inputShape: model.inputShape,
            classes: trainer.train.classes, layout: model.layout, bufferLayout: model.stateLayout,
            parameters: model.parameters.values, buffers: model.state.values,
            momentum: trainer.sgd.hasState ? sync.momentum.values : nil, state: state,
            shift: trainer.test.transform.shift, scale: trainer.test.transform.scale,
            metricsColumns: MetricsTable.columns, metrics: history.map(\.values))
        c.momentumOffset = sync.momentumRange.lowerBound
        c.imageWidth = trainer.train.imageWidth
        c.dataFingerprint = dataFingerprint
        return c
    }

    /// The job keys whose values differ from those the checkpoint was written with (a new learning rate or more
    /// epochs may continue a run; the keys that may not are refused by checkCompatible), as one line, or nil.
    func changedSettings(since c: CheckpointContents) -> String? {
        guard let stored = try? Job(text: c.job, source: "checkpoint") else { return nil }
        let show = { (v: JobValue?) in v.map { "\($0)" } ?? "unset" }
        let changed = Set(stored.values.keys).union(job.values.keys).sorted()
            .filter { !$0.hasPrefix("slurm.") && !["run.name", "run.output"].contains($0) && stored.values[$0] != job.values[$0] }
            .map { "\($0) \(show(stored.values[$0])) → \(show(job.values[$0]))" }
        guard !changed.isEmpty else { return nil }
        return "resuming with settings changed since the checkpoint: \(changed.joined(separator: ", ")) (job.toml holds the new values; the metrics rows before the resume were trained with the old ones)"
    }

    /// Each rank writes its sharded slice of the flat vectors.
    func writeShare(_ sync: GradientSync) -> WriteShare {
        WriteShare(communicator: world, parameters: sync.checkpointRange)
    }

    /// Writes the model as it stands to <run>/final.h5 (checkpoint layout; `descent predict` reads it), on every
    /// rank collectively.
    func saveFinalModel(_ contents: CheckpointContents, share: WriteShare, directory: RunDirectory) throws {
        let path = directory.path + "/final.h5"
        try world.agreeing { try CheckpointFile.write(contents, to: path + ".tmp", share: share) }
        try world.agreeing { if world.isRoot { try directory.commit(path + ".tmp", as: path) } }
    }

    /// The Trainer of `job` on prepared data: its model built and initialised, data parallel over `world` with the
    /// job's gradient reduction (its parameters adopted by the GradientSync, which the caller releases after the
    /// model's last use). `descent train` and the benchmarks build their trainers here.
    public static func trainer(_ job: Job, train: PreparedSplit, test: PreparedSplit, world: Communicator,
                               checkSyncEvery: Int = 0, injectedFault: Trainer.InjectedFault? = nil,
                               ranksPerNode: Int? = nil, bucketFloats: Int? = nil) throws -> (Trainer, GradientSync) {
        let spec = try job.modelSpec()
        let sgd = try job.sgd()
        let batch = job.int("optim.batch_size")
        let model = try spec.build(input: train.shape, classes: train.classes,
                                   maxBatch: maxBatch(batch: batch, evalBatch: job.int("eval.batch_size"), train: train.count,
                                                      test: test.count, ranks: world.size))
        try checkOutput(of: model, fits: train, loss: job.string("optim.loss"))
        model.initialize(seed: UInt64(job.int("run.seed")), spec.initializer, gain: spec.gain)
        if job.bool("run.sync_batchnorm") { BatchNormSync.install(in: model, over: world) }
        var settings = Trainer.Settings(epochs: job.int("run.epochs"), batchSize: batch, seed: UInt64(job.int("run.seed")),
                                        evaluateTrainingSet: job.bool("eval.train"), evaluateEvery: job.int("eval.every"),
                                        stopAtZeroTrainError: job.bool("run.stop_at_zero_train_error"),
                                        checkSyncEvery: checkSyncEvery)
        settings.injectedFault = injectedFault
        let steps = EpochPlan.steps(sampleCount: train.count, batchSize: batch)
        let strategy = GradientSync.Strategy(rawValue: job.string("run.gradient_reduction"))
            ?? .automatic(parameters: model.parameterCount, ranks: world.size)
        let sync = GradientSync(communicator: world, strategy: strategy, parameterCount: model.parameterCount,
                                needsMomentum: sgd.hasState, ranksPerNode: ranksPerNode, layerStarts: model.layerStarts,
                                bucketFloats: bucketFloats ?? GradientSync.defaultBucketFloats)
        sync.adopt(model, batchShare: (min(batch, train.count) + world.size - 1) / world.size)   // a rank's largest share
        if sync.overlapsBackward { model.gradientsFinal = { [unowned sync] offset in sync.gradientsFinal(from: offset) } }
        let trainer = Trainer(settings: settings, model: model, loss: job.loss(), sgd: sgd,
                              learningRate: try job.learningRate(stepsPerEpoch: steps), train: train, test: test, sync: sync)
        return (trainer, sync)
    }

    /// The most samples one rank holds at once, what its buffers are sized for: its share of a training batch (a
    /// batch never holds more than the training set) or one chunk of its share of an evaluation pass.
    public static func maxBatch(batch: Int, evalBatch: Int, train: Int, test: Int, ranks: Int) -> Int {
        func largestShare(_ n: Int) -> Int { n / ranks + (n % ranks == 0 ? 0 : 1) }   // of EpochPlan.contiguousShare
        return max(largestShare(min(batch, train)), min(evalBatch, largestShare(max(test, train))), 1)
    }

    /// The model's output must be what the training labels are: [classes] per sample, or [classes, H, W] for
    /// masks of H×W (a label per pixel). Anything else would overrun the labels buffer (sized by the output), leave
    /// it uninitialised, or hand the loss a label beyond its outputs. (The test split's classes are among the
    /// training split's, and both have masks or neither: Preprocessing checks it.)
    static func checkOutput(of model: Model, fits train: PreparedSplit, loss: String) throws {
        let perPixel = train.labelsPerPixel, output = model.outputShape
        let expected = perPixel ? [train.classes] + train.shape.dropFirst() : [train.classes]
        let labels = perPixel ? "masks of \(train.shape[1])×\(train.shape[2]) in \(train.classes) classes (a label per pixel)"
            : "one label per sample in \(train.classes) classes\(train.source.hasSuffix(".h5") ? " (no /masks)" : "")"
        guard output == expected else {
            let hint = perPixel && output.count == 1 ? " (such as architecture = \"unet\")" : ""
            throw ModelError("model: its output is \(output) per sample, but \(train.source) has \(labels): it needs a model whose output is \(expected)\(hint)")
        }
        if perPixel && loss == "hinge" {
            throw JobError("optim.loss = \"hinge\" is for one label per sample, but \(train.source) has \(labels)")
        }
    }

    /// Every rank must run the same job: a rank given another job file (or other --set overrides) would build
    /// another model, or fail where the others do not, and wait forever in a collective. Collective: when any
    /// setting differs from rank 0's, every rank fails with one line naming the first such key.
    func checkSameJob() throws {
        let mine = Schema.keys.compactMap { spec in job.values[spec.key].map { "\(spec.key) = \($0)" } }
        let rank0 = world.broadcast(mine.joined(separator: "\n"))
        try world.agreeing {
            guard mine.joined(separator: "\n") != rank0 else { return }
            let theirs = rank0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let first = zip(mine, theirs).first { $0 != $1 }.map { "\($0.0) here, \($0.1) on rank 0" }
                ?? "\(mine.count) settings here, \(theirs.count) on rank 0"
            throw JobError("\(job.source): not the job rank 0 runs (\(first)); every rank must run the same job file and overrides")
        }
    }

    @discardableResult
    public func execute() throws -> Result {
        attemptStarted = monotonicSeconds()
        try checkSameJob()
        // 1. Everything that can be wrong with the job or the data, on every rank, before anything is written.
        let spec = try job.modelSpec()
        _ = try job.sgd()   // an optimiser error stops the run before the data loads
        let every = try job.checkpointEvery()
        let ranksPerNode = try positiveSetting("DESCENT_RANKS_PER_NODE"), bucketFloats = try positiveSetting("DESCENT_BUCKET_FLOATS")
        let threads = configureThreads()
        let (train, test) = try world.agreeing { try TrainingRun.loadData(job) }
        // Rank 0's: an attribute of a collective write must be the same on every rank.
        dataFingerprint = world.broadcast(DataFingerprint.text(trainLabels: train.labels, testLabels: test.labels,
                                                               shape: train.shape, classes: train.classes))
        if let weights = job.doubles("optim.class_weights") {
            let place = job.origin(of: "optim.class_weights")
            guard job.string("optim.loss") == "cross_entropy" else { throw JobError("\(place): optim.class_weights: only the cross_entropy loss takes class weights") }
            guard weights.count == train.classes, weights.allSatisfy({ $0 >= 0 }), weights.contains(where: { $0 > 0 }) else {
                throw JobError("\(place): optim.class_weights: expected \(train.classes) weights ≥ 0 (one per class of \(train.source)), got \(weights)")
            }
        }
        var fault: Trainer.InjectedFault? = nil
        if let text = environment["DESCENT_FAULT"] {
            guard let parsed = Trainer.InjectedFault(text) else {
                throw JobError("DESCENT_FAULT='\(text)': expected fail:RANK:STEP or desync:RANK:STEP")
            }
            fault = parsed
        }
        let (trainer, sync) = try TrainingRun.trainer(job, train: train, test: test, world: world, checkSyncEvery: checkSyncEvery,
                                                      injectedFault: fault, ranksPerNode: ranksPerNode, bucketFloats: bucketFloats)
        defer { sync.release() }   // after the model's last use (the shared window holds its parameters)
        let model = trainer.model, batch = trainer.settings.batchSize, steps = trainer.stepsPerEpoch

        let log = try world.agreeing { try debugLogDirectory.map { try DebugLog(directory: $0, rank: world.rank) } }
        log?.write("rank \(world.rank) of \(world.size), \(DebugLog.processDescription), \(threads.threads) BLAS thread(s) (\(threads.reason)) running OpenBLAS \(BLASKernels.description), \(threads.localRanks) rank(s) on this node")
        log?.write("job \(job.source), \(train.count) training samples, global batch \(batch), \(steps) steps per epoch, gradients \(sync.strategy.rawValue) (\(sync.overlapDescription); Dense layers split by units across the node: \(sync.nodeSplitLayers.isEmpty ? "none" : sync.nodeSplitLayers.joined(separator: ", "))), momentum slice \(sync.momentumRange)")

        // 2. The run directory (rank 0): fresh, or continued from its newest valid checkpoint. A --resume PATH is
        // read and checked first: a checkpoint refused leaves no run directory behind.
        let compatibleCheckpoint = { [self] in
            let found = try checkpointToResume(runDirectory: job.runDirectory)
            if let (path, c) = found { try world.agreeing { try checkCompatible(c, path: path, spec: spec, model: model) } }
            return found
        }
        let named = resume.namesCheckpoint ? try compatibleCheckpoint() : nil
        let directory = try world.agreeing { try RunDirectory(path: job.runDirectory) }
        let lock = try RunLock.acquire(directory.path, world: world)   // one process per run directory
        defer { lock.release() }
        let checkpointer = Checkpointer(runDirectory: directory.path, keep: job.int("checkpoint.keep"), world: world)
        var history: [EpochMetrics] = []
        var requeues = 0
        let resumed = resume.namesCheckpoint ? named : try compatibleCheckpoint()
        runID = runID(resuming: resumed?.contents)
        let moved = try world.agreeing {
            world.isRoot ? try claimCheckpoints(checkpointer.directory, runID: runID, resumed: resumed?.path) : nil
        }
        if let (path, c) = resumed {
            history = restore(c, trainer: trainer, sync: sync)
            wallBefore = c.state.wallSeconds
            // Slurm counts a job's requeues in SLURM_RESTART_COUNT; the checkpoint keeps the count across them.
            requeues = max(c.state.requeueCount, environment["SLURM_RESTART_COUNT"].flatMap { Int($0) } ?? 0)
            try world.agreeing { if world.isRoot { try directory.resume(job: job, history: history) } }
            log?.write("resumed from \(path), \(c.state.position), written by \(c.state.worldSize) rank(s)")
        } else {
            try world.agreeing { if world.isRoot { try directory.begin(job: job) } }
        }
        printer.startTable(job: job, model: model, spec: spec, train: train, test: test, stepsPerEpoch: steps,
                           directory: directory.path, extra: [
                               ("ranks", "\(world.size) (\(threads.localRanks) on this node) · gradients \(sync.strategy.rawValue)"
                                         + (sync.nodeSplitLayers.isEmpty ? "" : " (\(sync.nodeSplitLayers.joined(separator: ", ")) split by units across the node)")
                                         + (trainer.batchNormSynchronized ? " · BatchNorm statistics synchronised" : "")),
                           ], threads: "\(threads.threads) per rank (\(threads.reason)) · OpenBLAS \(BLASKernels.description)")
        if let warning = threads.oversubscription { printer.note(warning) }
        if let moved { printer.note(moved) }
        if let (path, c) = resumed {
            printer.note("resuming from \(path): \(c.state.position), written by \(c.state.worldSize) rank(s)")
            if let changes = changedSettings(since: c) { printer.note(changes) }
        }

        // 3. Train; rank 0 writes one metrics row per epoch.
        var last: EpochMetrics?
        trainer.onEpoch = { [unowned trainer] metrics in
            let p = trainer.phaseSeconds
            log?.write("epoch \(metrics.epoch): \(metrics.seconds) s training, of which data \(p.data) s, forward \(p.forward) s, backward \(p.backward) s, gradient reduction and update \(p.reduction) s (waiting for other ranks at fences since the start: \(sync.fenceSeconds) s); samples read from disk so far: train \(train.samplesRead), test \(test.samplesRead)")
            if self.world.isRoot { try directory.append(metrics) }
            self.printer.epoch(metrics, of: trainer.settings.epochs, elapsed: monotonicSeconds() - self.attemptStarted)
            history.append(metrics)
            last = metrics
        }
        // Checkpoints every N steps or epochs; the position last saved, so that the end does not save it twice. A
        // checkpoint taken after an epoch's last step but before its evaluation resumes into that evaluation; the
        // run's final position (after the last evaluation) is always saved, under the same step number.
        var saved = resumed.map { Trainer.Position(epoch: $0.contents.state.epoch, stepInEpoch: $0.contents.state.stepInEpoch,
                                                     globalStep: $0.contents.state.globalStep) }
        var ended: Trainer.Outcome? = nil
        let save = { [unowned trainer] in
            guard trainer.position != saved else { return }
            if trainer.position.stepInEpoch != 0 { trainer.averageRunningStatistics() }   // inside an epoch
            sync.publish()
            let c = try self.checkpointContents(trainer, sync: sync, history: history, requeues: requeues, ended: ended)
            let path = try checkpointer.save(c, share: self.writeShare(sync))
            saved = trainer.position
            log?.write("checkpoint \(path)")
        }
        switch every {
        case .steps(let n): trainer.afterStep = { [unowned trainer] in if trainer.position.globalStep % n == 0 { try save() } }
        case .epochs(let n): trainer.afterEpoch = { [unowned trainer] in if trainer.position.epoch % n == 0 { try save() } }
        }
        StopSignals.install()   // again, in case the library is used without the CLI (which installs them first)
        trainer.shouldStop = { StopSignals.requested != 0 }
        let outcome: Trainer.Outcome
        do {
            // A run that ended at zero training error is over: its last checkpoint says so, and there is nothing
            // left to train (its position is not the last epoch's end).
            let over = resumed?.contents.state.reachedZeroTrainError == true && trainer.settings.stopAtZeroTrainError
            outcome = over ? .reachedZeroTrainError : try trainer.run()
            ended = outcome
            try save()   // always at the end, and on a stop signal
        } catch let failure as JobFailure {
            // Every rank of the run failed alike (a loss that was not finite, a checkpoint that could not be
            // written): rank 0 records it, and the run ends cleanly on every rank.
            log?.write("failed: \(failure)")
            if world.isRoot { try? directory.finish(status: "failed", detail: "\(failure)") }
            throw failure
        } catch {
            // This rank alone failed: it records it (rank 0 may be killed by the abort before it could).
            let who = world.size > 1 ? "rank \(world.rank): " : ""
            log?.write("failed: \(error)")
            try? directory.finish(status: "failed", detail: who + "\(error)")
            if world.size > 1 { MPIRuntime.fail("\(error)") }   // the other ranks are in a collective: abort them
            throw error
        }
        // 4. A stop signal ends here (the checkpoint is written); otherwise the final model, status and plots.
        if outcome == .stopped {
            try world.agreeing {
                if world.isRoot { try directory.finish(status: "stopped", detail: "signal \(StopSignals.requested) at global step \(trainer.position.globalStep); checkpoint written, resume to continue") }
            }
            printer.note("descent: stopped by signal \(StopSignals.requested) at global step \(trainer.position.globalStep); checkpoint written in \(checkpointer.directory); run the same command to continue")
            return Result(outcome: outcome, runDirectory: directory.path, last: last, parameterCount: model.parameterCount)
        }
        do {
            try saveFinalModel(try checkpointContents(trainer, sync: sync, history: history, requeues: requeues, ended: outcome),
                               share: writeShare(sync), directory: directory)
            try world.agreeing { if world.isRoot { try directory.finish(status: "finished", detail: "\(outcome)") } }
        } catch let broken as CollectiveBroken {   // one rank failed half-way through writing final.h5
            try? directory.finish(status: "failed", detail: "rank \(world.rank): \(broken)")
            MPIRuntime.fail("\(broken)")
        } catch {
            if world.isRoot { try? directory.finish(status: "failed", detail: "\(error)") }
            throw error
        }
        let plots = world.isRoot ? (try? RunReport.write(runDirectory: directory.path)) ?? [] : []
        printer.finish(outcome: outcome, last: last, directory: directory.path, plots: plots, seconds: monotonicSeconds() - attemptStarted)
        return Result(outcome: outcome, runDirectory: directory.path, last: last, parameterCount: model.parameterCount)
    }

    /// The environment variable `name` as a whole number ≥ 1, nil when it is not set.
    private func positiveSetting(_ name: String) throws -> Int? {
        guard let text = environment[name] else { return nil }
        guard let n = Int(text), n >= 1 else { throw JobError("\(name)='\(text)': expected a whole number ≥ 1") }
        return n
    }

    /// Sets OpenBLAS's thread count for this rank (ThreadPlan) and returns the plan.
    private func configureThreads() -> ThreadPlan {
        let localRanks = world.node().size
        let plan = ThreadPlan.choose(env: environment, localRanks: localRanks, cores: ThreadPlan.nodeCores)
        BLAS.setThreads(plan.threads)
        return plan
    }
}

/// The current directory, for messages about relative paths.
private func currentDirectory() -> String {
    guard let p = getcwd(nil, 0) else { return "." }
    defer { free(p) }
    return String(cString: p)
}
