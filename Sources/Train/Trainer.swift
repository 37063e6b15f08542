// Trainer.swift — the training loop, top to bottom. Each step: gather this rank's samples of the global batch →
// forward → loss (sum over the samples, scaled by 1/global batch) → backward → gradient reduction → SGD update.
// Each epoch: a fresh global order from (seed, epoch), evaluation, one metrics row. What is not here: reading
// files (Data), the layers (Layers), writing metrics and progress (RunLog).
import Data
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
        public init(epochs: Int, batchSize: Int, seed: UInt64, evaluateTrainingSet: Bool = false,
                    evaluateEvery: Int = 1, stopAtZeroTrainError: Bool = false) {
            self.epochs = epochs; self.batchSize = batchSize; self.seed = seed
            self.evaluateTrainingSet = evaluateTrainingSet || stopAtZeroTrainError
            self.evaluateEvery = evaluateEvery; self.stopAtZeroTrainError = stopAtZeroTrainError
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

    public let settings: Settings
    public let model: Model
    public let loss: Loss
    public let sgd: SGD
    public let learningRate: LearningRate
    public let train: PreparedSplit, test: PreparedSplit
    /// SGD's momentum buffer (same layout as the parameters).
    public let momentum: FlatVector
    public var position = Position()
    /// Checked before every step; returning true ends the run at that step boundary.
    public var shouldStop: () -> Bool = { false }
    /// Called after every epoch with its metrics.
    public var onEpoch: (EpochMetrics) throws -> Void = { _ in }

    private let labels: UnsafeMutablePointer<Int32>
    private let rank = 0, ranks = 1

    public init(settings: Settings, model: Model, loss: Loss, sgd: SGD, learningRate: LearningRate,
                train: PreparedSplit, test: PreparedSplit) {
        self.settings = settings; self.model = model; self.loss = loss; self.sgd = sgd
        self.learningRate = learningRate; self.train = train; self.test = test
        momentum = FlatVector(count: model.parameterCount)
        labels = .allocate(capacity: model.maxBatch * Trainer.labelsPerSample(model))
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
            var running = Sums()
            let start = monotonicSeconds()
            while position.stepInEpoch < plan.steps {
                if shouldStop() { return .stopped }
                trainStep(plan, position.stepInEpoch, &running)
                position.stepInEpoch += 1
                position.globalStep += 1
            }
            let seconds = monotonicSeconds() - start
            position.epoch += 1
            position.stepInEpoch = 0

            let last = position.epoch == settings.epochs
            guard last || position.epoch % settings.evaluateEvery == 0 || settings.stopAtZeroTrainError else { continue }
            let trainSums = settings.evaluateTrainingSet ? evaluate(train) : Sums()
            let testSums = evaluate(test)
            let lr = learningRate.rate(epoch: epoch, globalStep: max(position.globalStep - 1, 0))
            let metrics = EpochMetrics(
                epoch: position.epoch, step: position.globalStep,
                lr: Double("\(lr)")!,   // the Float's shortest decimal form (0.01, not 0.009999999776482582)
                batchLoss: running.samples > 0 ? running.meanLoss : nil, batchError: running.samples > 0 ? running.error : nil,
                trainLoss: trainSums.meanLoss, trainError: trainSums.error, trainMeasured: settings.evaluateTrainingSet,
                testLoss: testSums.meanLoss, testError: testSums.error,
                seconds: seconds, samplesPerSecond: Double(train.count) / max(seconds, 1e-9))
            try onEpoch(metrics)
            if settings.stopAtZeroTrainError && trainSums.correct == trainSums.count { return .reachedZeroTrainError }
        }
        return .finished
    }

    /// One step of data-parallel SGD on this rank's part of global batch `step`.
    private func trainStep(_ plan: EpochPlan, _ step: Int, _ running: inout Sums) {
        let (range, offset) = plan.shard(step, rank: rank, of: ranks)
        let globalBatch = plan.globalBatch(step).count
        train.gather(plan.order[range], into: model.input.data, labels: labels)
        let context = PassContext(training: true, seed: settings.seed, step: UInt64(position.globalStep), sampleOffset: offset)

        let output = model.forward(batch: range.count, context)
        running.loss += loss.evaluate(output, .labels(labels), gradient: model.outputGradient, scale: 1 / Float(globalBatch))
        running.correct += countCorrect(output, labels: labels)
        running.count += range.count * Trainer.labelsPerSample(model)
        running.samples += range.count
        model.backward(context)

        let lr = learningRate.rate(epoch: plan.epoch, globalStep: position.globalStep)
        sgd.update(parameters: model.parameters.data, gradients: model.gradients.data,
                   momentumBuffer: sgd.hasState ? momentum.data : nil, count: model.parameterCount,
                   lr: lr, firstStep: position.globalStep == 0)
    }

    /// Loss and errors of the model on `split`, in evaluation mode.
    public func evaluate(_ split: PreparedSplit) -> Sums {
        var sums = Sums()
        let perSample = Trainer.labelsPerSample(model)
        var start = 0
        while start < split.count {
            let n = min(model.maxBatch, split.count - start)
            split.gather(start..<start + n, into: model.input.data, labels: labels)
            let output = model.forward(batch: n, .evaluation)
            sums.loss += loss.evaluate(output, .labels(labels), gradient: nil, scale: 1)
            sums.correct += countCorrect(output, labels: labels)
            sums.count += n * perSample
            sums.samples += n
            start += n
        }
        return sums
    }

    /// Sums over samples (never means of means, so that ranks can add them).
    public struct Sums: Sendable {
        public var loss = 0.0
        public var correct = 0, count = 0, samples = 0
        public var meanLoss: Double { loss / Double(max(samples == 0 ? count : samples, 1)) }
        public var error: Double { 1 - Double(correct) / Double(max(count, 1)) }
    }
}
