// Trainer.swift — the training loop, top to bottom. Each step: gather this rank's samples of the global batch →
// forward → loss (sum over the samples, scaled by 1/global batch) → backward → gradient reduction and SGD update
// (GradientSync) → identical parameters on every rank. Each epoch: a fresh global order from (seed, epoch),
// sharded evaluation whose sums are reduced over the ranks, one metrics row. What is not here: reading files
// (Data), the layers (Layers), the collectives (Distributed), writing metrics and progress (RunDirectory,
// ConsolePrinter).
import Data
import Distributed
import Layers
import Optim
import Report
import Tensor

public final class Trainer {
    public struct Settings: Sendable {
        public var epochs: Int
        public var batchSize: Int
        public var seed: UInt64
        public var evaluateTrainingSet: Bool
        public var evaluateEvery: Int
        public var stopAtZeroTrainError: Bool
        /// Every this many steps, check that all ranks hold identical parameters (0: never).
        public var checkSyncEvery: Int
        /// Testing aid (DESCENT_FAULT): a fault this rank injects at a global step.
        public var injectedFault: InjectedFault?
        public init(epochs: Int, batchSize: Int, seed: UInt64, evaluateTrainingSet: Bool = false,
                    evaluateEvery: Int = 1, stopAtZeroTrainError: Bool = false, checkSyncEvery: Int = 0) {
            self.epochs = epochs; self.batchSize = batchSize; self.seed = seed
            self.evaluateTrainingSet = evaluateTrainingSet || stopAtZeroTrainError
            self.evaluateEvery = evaluateEvery; self.stopAtZeroTrainError = stopAtZeroTrainError
            self.checkSyncEvery = checkSyncEvery
        }
    }

    /// Where the run stands: the next step to take.
    public struct Position: Equatable, Sendable {
        public var epoch = 0, stepInEpoch = 0, globalStep = 0
        public init(epoch: Int = 0, stepInEpoch: Int = 0, globalStep: Int = 0) {
            self.epoch = epoch; self.stepInEpoch = stepInEpoch; self.globalStep = globalStep
        }
    }

    public enum Outcome: Equatable, Sendable { case finished, reachedZeroTrainError, stopped }

    /// A fault for the tests of failure handling: `fail` throws at the step (as a bad file or a NaN would);
    /// `desync` nudges one parameter on this rank only (which --check-sync must catch).
    public struct InjectedFault: Equatable, Sendable {
        public enum Kind: String, Sendable { case fail, desync }
        public var kind: Kind, rank: Int, step: Int
        /// Parses "fail:RANK:STEP" or "desync:RANK:STEP".
        public init?(_ text: String) {
            let parts = text.split(separator: ":")
            guard parts.count == 3, let kind = Kind(rawValue: String(parts[0])), let rank = Int(parts[1]),
                  let step = Int(parts[2]) else { return nil }
            self.kind = kind; self.rank = rank; self.step = step
        }
    }

    /// A failure inside the loop. On a multi-rank job the caller must abort the job (the other ranks are in, or
    /// headed for, a collective).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let settings: Settings
    public let model: Model
    public let loss: Loss
    public let sgd: SGD
    public let learningRate: LearningRate
    public let train: PreparedSplit, test: PreparedSplit
    /// The gradient reduction over the ranks, and the momentum of the parameters this rank updates.
    public let sync: GradientSync
    public var momentum: FlatVector { sync.momentum }
    public var position = Position()
    /// Checked once before every step (the ranks agree: one rank's true stops all): with the agreement after the
    /// step before, or at the epoch's start for its first step. True ends the run at that step boundary.
    public var shouldStop: () -> Bool = { false }
    /// Called after every epoch with its metrics.
    public var onEpoch: (EpochMetrics) throws -> Void = { _ in }
    /// Called after every step and after every epoch (after `onEpoch`), on every rank: checkpoints.
    public var afterStep: () throws -> Void = {}
    public var afterEpoch: () throws -> Void = {}
    /// This rank's sums over the training batches of the current epoch so far (the batch loss and error).
    public var epochSums = Sums()
    /// Seconds this rank spent in each phase of its training steps since the epoch began: the per-step
    /// breakdown of the debug log and of the benchmarks.
    public struct PhaseSeconds: Sendable {
        /// Gathering the batch; forward and loss; backward; gradient reduction and SGD update (GradientSync.step,
        /// including the wait for slower ranks, and the data the node's Dense forwards exchange).
        public var data = 0.0, forward = 0.0, backward = 0.0, reduction = 0.0
    }
    public private(set) var phaseSeconds = PhaseSeconds()

    /// run.sync_batchnorm: the BatchNorm layers add their statistics over the ranks (BatchNormSync, installed
    /// before the Trainer is made).
    public let batchNormSynchronized: Bool

    /// Steps with samples on this rank since the running statistics were last averaged.
    private var stepsWithSamples = 0
    private let labels: UnsafeMutablePointer<Int32>
    private var rank: Int { sync.communicator.rank }
    private var ranks: Int { sync.communicator.size }

    /// `sync` defaults to one process without MPI.
    public init(settings: Settings, model: Model, loss: Loss, sgd: SGD, learningRate: LearningRate,
                train: PreparedSplit, test: PreparedSplit, sync: GradientSync? = nil) {
        self.settings = settings; self.model = model; self.loss = loss; self.sgd = sgd
        self.learningRate = learningRate; self.train = train; self.test = test
        self.sync = sync ?? GradientSync(communicator: .solo, strategy: .allreduce, parameterCount: model.parameterCount,
                                         needsMomentum: sgd.hasState)
        labels = .allocate(capacity: model.maxBatch * Trainer.labelsPerSample(model))
        batchNormSynchronized = model.batchNorms.contains { $0.synchronizer != nil }
    }
    deinit { labels.deallocate() }

    /// Labels per sample: 1 for classifiers, one per pixel for segmentation outputs [K, H, W].
    static func labelsPerSample(_ model: Model) -> Int { model.outputShape.dropFirst().reduce(1, *) }

    public var stepsPerEpoch: Int { EpochPlan.steps(sampleCount: train.count, batchSize: settings.batchSize) }

    /// Trains from `position` to the last epoch, the zero-training-error stop, or `shouldStop`.
    public func run() throws -> Outcome {
        while position.epoch < settings.epochs {
            let epoch = position.epoch
            let plan = EpochPlan(sampleCount: train.count, batchSize: settings.batchSize, seed: settings.seed, epoch: epoch)
            if position.stepInEpoch == 0 { epochSums = Sums() }   // else resumed mid-epoch: restored with the position
            phaseSeconds = PhaseSeconds()
            let start = monotonicSeconds()
            var samplesTrained = 0   // by this process: a run resumed mid-epoch trains only the rest of it
            // A stop asked for during the last evaluation (or before the run) ends it before the epoch's first step.
            if position.stepInEpoch < plan.steps && sync.communicator.agree(shouldStop() ? 1 : 0) == 1 { return .stopped }
            while position.stepInEpoch < plan.steps {
                let lossProblem = try trainStep(plan, position.stepInEpoch, &epochSums)
                samplesTrained += plan.globalBatch(position.stepInEpoch).count
                position.stepInEpoch += 1
                position.globalStep += 1
                // After an epoch's last step the stop is asked for at the next epoch's start, after the evaluation.
                let stop = try agreeAfterStep(lossProblem, askingToStop: position.stepInEpoch < plan.steps)
                if settings.checkSyncEvery > 0 && position.globalStep % settings.checkSyncEvery == 0 {
                    sync.publish()
                    try checkSync()
                }
                try afterStep()
                if stop { sync.publish(); return .stopped }
            }
            sync.publish()   // evaluation and what follows read every rank's parameters
            let seconds = monotonicSeconds() - start
            position.epoch += 1
            position.stepInEpoch = 0
            let running = epochSums.reduced(over: sync.communicator)
            averageRunningStatistics()

            let last = position.epoch == settings.epochs
            guard last || position.epoch % settings.evaluateEvery == 0 || settings.stopAtZeroTrainError else {
                try afterEpoch()
                continue
            }
            let trainSums = settings.evaluateTrainingSet ? try evaluate(train) : Sums()
            let testSums = try evaluate(test)
            let lr = learningRate.rate(epoch: epoch, globalStep: max(position.globalStep - 1, 0))
            let metrics = EpochMetrics(
                epoch: position.epoch, step: position.globalStep,
                lr: Double("\(lr)")!,   // the Float's shortest decimal form (0.01, not 0.009999999776482582)
                batchLoss: running.samples > 0 ? running.meanLoss : nil, batchError: running.samples > 0 ? running.error : nil,
                trainLoss: trainSums.meanLoss, trainError: trainSums.error, trainMeasured: settings.evaluateTrainingSet,
                testLoss: testSums.meanLoss, testError: testSums.error,
                seconds: seconds, samplesPerSecond: Double(samplesTrained) / max(seconds, 1e-9))
            try onEpoch(metrics)
            if settings.stopAtZeroTrainError && trainSums.correct == trainSums.count { return .reachedZeroTrainError }
            try afterEpoch()
        }
        return .finished
    }

    /// Averages the BatchNorm running statistics over the ranks (each rank computes its own from its samples):
    /// after every epoch, and before a checkpoint is taken inside one, so that the file holds every rank's share.
    /// The running statistics are linear in the batch statistics, so averaging mid-epoch leaves the average at the
    /// epoch's end as it would have been (up to rounding). Collective.
    public func averageRunningStatistics() {
        sync.averageState(model, contributes: stepsWithSamples > 0)
        stepsWithSamples = 0
    }

    /// The one agreement of every step, after it: a loss that was not finite on any rank fails the run on every
    /// rank of its communicator alike (a JobFailure with the lowest such rank's message: the run ends cleanly, and
    /// a sweep goes on with its next run, instead of aborting the whole job); otherwise, when `askingToStop`, true
    /// when any rank was asked to stop (shouldStop is thus checked once before every step).
    private func agreeAfterStep(_ lossProblem: String?, askingToStop: Bool) throws -> Bool {
        let communicator = sync.communicator
        guard communicator.size > 1 else {
            if let lossProblem { throw Failure(description: lossProblem) }
            return askingToStop && shouldStop()
        }
        // The lowest rank with a problem, else size (a stop asked for) or size + 1 (go on).
        let mine = lossProblem != nil ? communicator.rank : communicator.size + (askingToStop && shouldStop() ? 0 : 1)
        let verdict = communicator.agree(mine, .min)
        if verdict < communicator.size {
            throw JobFailure(message: "rank \(verdict): " + communicator.broadcast(lossProblem ?? "", root: verdict))
        }
        return verdict == communicator.size
    }

    /// One step of data-parallel SGD on this rank's part of global batch `step`. Returns what was wrong when the
    /// loss was not finite: the step still takes part in the gradient reduction, and the ranks fail together
    /// after it (agreeAfterStep).
    private func trainStep(_ plan: EpochPlan, _ step: Int, _ running: inout Sums) throws -> String? {
        let fault = settings.injectedFault.flatMap { $0.rank == rank && $0.step == position.globalStep ? $0.kind : nil }
        if fault == .fail { throw Failure(description: "injected fault at step \(position.globalStep) (DESCENT_FAULT)") }
        defer { if fault == .desync { model.parameters[0] += 1e-3 } }
        let (range, offset) = plan.shard(step, rank: rank, of: ranks)
        let globalBatch = plan.globalBatch(step).count
        let lr = learningRate.rate(epoch: plan.epoch, globalStep: position.globalStep)
        guard !range.isEmpty else {   // more ranks than samples in this (last) batch: contribute zeros
            model.synchronizeWithoutSamples()
            model.gradients.fill(0)
            sync.step(model, sgd: sgd, lr: lr, firstStep: position.globalStep == 0)
            return nil
        }
        stepsWithSamples += 1
        let t0 = monotonicSeconds(), exchangeBefore = sync.nodeExchangeSeconds
        try train.gather(plan.order[range], into: model.input.data, labels: labels, step: UInt64(position.globalStep))
        let t1 = monotonicSeconds()
        let context = PassContext(training: true, seed: settings.seed, step: UInt64(position.globalStep), sampleOffset: offset)

        let output = model.forward(batch: range.count, context)
        let batchLoss = loss.evaluate(output, .labels(labels), gradient: model.outputGradient, scale: 1 / Float(globalBatch))
        let lossProblem = batchLoss.isFinite ? nil
            : "the training loss is \(batchLoss) at epoch \(plan.epoch + 1), step \(step + 1) (global step \(position.globalStep)); HINT: lower optim.lr"
        running.loss += batchLoss
        running.correct += countCorrect(output, labels: labels)
        running.count += range.count * Trainer.labelsPerSample(model)
        running.samples += range.count
        let t2 = monotonicSeconds()
        model.backward(context)
        let t3 = monotonicSeconds(), nodeGradientsBefore = sync.nodeGradientSeconds
        sync.step(model, sgd: sgd, lr: lr, firstStep: position.globalStep == 0)
        let t4 = monotonicSeconds()
        // The gradients of layers split across the node (NodeSplitDense) are backward's work, though computed
        // inside the step; the data those layers' forwards exchange is communication, though done in the forward.
        let nodeGradients = sync.nodeGradientSeconds - nodeGradientsBefore, exchange = sync.nodeExchangeSeconds - exchangeBefore
        phaseSeconds.data += t1 - t0; phaseSeconds.forward += t2 - t1 - exchange
        phaseSeconds.backward += t3 - t2 + nodeGradients; phaseSeconds.reduction += t4 - t3 - nodeGradients + exchange
        return lossProblem
    }

    /// Fails when the ranks' parameters differ (they must be bitwise identical after every step).
    private func checkSync() throws {
        let (agree, hash) = sync.parametersAgree(model)
        if !agree {
            throw Failure(description: "parameters differ between ranks after global step \(position.globalStep) (this rank's hash \(String(hash, radix: 16)))")
        }
    }

    /// Loss and errors of the model on `split`, in evaluation mode: each rank evaluates its contiguous share
    /// and the sums are added over the ranks.
    public func evaluate(_ split: PreparedSplit) throws -> Sums {
        var sums = Sums()
        let perSample = Trainer.labelsPerSample(model)
        let share = EpochPlan.contiguousShare(split.count, rank: rank, of: ranks)
        var start = share.lowerBound
        while start < share.upperBound {
            let n = min(model.maxBatch, share.upperBound - start)
            try split.gather(start..<start + n, into: model.input.data, labels: labels)
            let output = model.forward(batch: n, .evaluation)
            sums.loss += loss.evaluate(output, .labels(labels), gradient: nil, scale: 1)
            sums.correct += countCorrect(output, labels: labels)
            sums.count += n * perSample
            sums.samples += n
            start += n
        }
        return sums.reduced(over: sync.communicator)
    }

    /// Sums over samples (never means of means, so that ranks can add them).
    public struct Sums: Equatable, Sendable {
        public var loss = 0.0
        public var correct = 0, count = 0, samples = 0
        public init(loss: Double = 0, correct: Int = 0, count: Int = 0, samples: Int = 0) {
            self.loss = loss; self.correct = correct; self.count = count; self.samples = samples
        }
        public var meanLoss: Double { loss / Double(max(samples == 0 ? count : samples, 1)) }
        public var error: Double { 1 - Double(correct) / Double(max(count, 1)) }

        /// The sums over every rank.
        public func reduced(over communicator: Communicator) -> Sums {
            guard communicator.size > 1 else { return self }
            var v = [loss, Double(correct), Double(count), Double(samples)]
            communicator.allreduce(&v)
            return Sums(loss: v[0], correct: Int(v[1]), count: Int(v[2]), samples: Int(v[3]))
        }
    }
}
