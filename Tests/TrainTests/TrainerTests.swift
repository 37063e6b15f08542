// TrainerTests.swift — the training loop at library level, on a small synthetic data set prepared as a run
// prepares its data: stopping at zero training error, stopping at a step boundary and continuing from there
// (in the same trainer, or in a fresh one given the parameters, momentum and position, as a resumed run is) to
// bitwise the parameters of an uninterrupted run, determinism under a seed, and the metrics rows per epoch.
import Data
import Distributed
import Job
import Layers
import Optim
import Report
import Testing
import Train

/// `count` images of 1×6×6 in `classes` classes that a small MLP separates easily: noise below 40 and a bright
/// row whose position is the class (sample i has class i mod `classes`).
private func separable(count: Int, classes: Int = 3, seed: UInt64) -> Dataset {
    var state = seed
    func noise() -> UInt8 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(state >> 59) * 2          // 0…62
    }
    let side = 6
    var images: [UInt8] = []
    let labels = (0..<count).map { Int32($0 % classes) }
    for label in labels {
        for row in 0..<side {
            for _ in 0..<side { images.append(noise() + (row == 2 * Int(label) ? 190 : 0)) }
        }
    }
    return Dataset(images: images, labels: labels, channels: 1, height: side, width: side, classes: classes, source: "separable")
}

/// The training and test splits: 60 and 30 samples, normalised to [0, 1] as a run's default does.
private func splits() throws -> (train: PreparedSplit, test: PreparedSplit) {
    try Preprocessing.prepare(train: separable(count: 60, seed: 1), test: separable(count: 30, seed: 2), DataOptions())
}

/// 60 samples in batches of 16: 4 steps per epoch, the last one of 12 samples.
private let batchSize = 16, stepsPerEpoch = 4

/// A trainer of an MLP (16 hidden units, dropout, so that the step number matters) with SGD and momentum (so that
/// the optimiser state matters), its parameters initialised from `seed`.
private func trainer(seed: UInt64, epochs: Int, evaluateTrainingSet: Bool = false, evaluateEvery: Int = 1,
                     stopAtZeroTrainError: Bool = false, learningRate: LearningRate = LearningRate(base: 0.05)) throws -> Trainer {
    let (train, test) = try splits()
    let spec = ModelSpec(.mlp(hidden: [16]), dropout: 0.1)
    let model = try spec.build(input: train.shape, classes: train.classes, maxBatch: 64)
    model.initialize(seed: seed, spec.initializer, gain: spec.gain)
    let settings = Trainer.Settings(epochs: epochs, batchSize: batchSize, seed: seed, evaluateTrainingSet: evaluateTrainingSet,
                                    evaluateEvery: evaluateEvery, stopAtZeroTrainError: stopAtZeroTrainError)
    return Trainer(settings: settings, model: model, loss: SoftmaxCrossEntropy(), sgd: try SGD(momentum: 0.9),
                   learningRate: learningRate, train: train, test: test)
}

/// The parameters as bit patterns: equal only if bitwise equal (and NaN-safe).
private func bits(_ t: Trainer) -> [UInt32] { t.model.parameters.values.map(\.bitPattern) }

@Suite("Trainer")
struct TrainerTests {
    @Test("stop_at_zero_train_error ends an easily separable run with .reachedZeroTrainError")
    func zeroTrainError() throws {
        let t = try trainer(seed: 3, epochs: 200, stopAtZeroTrainError: true)
        var rows: [EpochMetrics] = []
        t.onEpoch = { rows.append($0) }
        let outcome = try t.run()
        #expect(outcome == .reachedZeroTrainError)
        let last = try #require(rows.last)
        #expect(last.epoch < 200, "it stopped early")
        #expect(last.trainError == 0)
        #expect(rows.dropLast().allSatisfy { ($0.trainError ?? 0) > 0 }, "and not before the training error was zero")
        #expect(rows.allSatisfy { $0.trainLoss != nil }, "the training set is measured every epoch")
        #expect(t.position == Trainer.Position(epoch: last.epoch, stepInEpoch: 0, globalStep: last.epoch * stepsPerEpoch))
        #expect(try t.evaluate(t.train).correct == 60)
    }

    @Test("without the flag, the same run goes on to the last epoch")
    func noZeroTrainErrorStop() throws {
        let t = try trainer(seed: 3, epochs: 3, evaluateTrainingSet: true)
        #expect(try t.run() == .finished)
        #expect(t.position == Trainer.Position(epoch: 3, stepInEpoch: 0, globalStep: 3 * stepsPerEpoch))
    }

    @Test("shouldStop at step k stops there; continuing gives bitwise the uninterrupted run's parameters",
          arguments: [1, 5, 8, 13, 19])   // within the first epoch, mid-epoch, at an epoch boundary, epochs 4 and 5
    func stopAndContinue(k: Int) throws {
        let epochs = 5
        let reference = try trainer(seed: 11, epochs: epochs)
        #expect(try reference.run() == .finished)

        let t = try trainer(seed: 11, epochs: epochs)
        var checks = 0
        t.shouldStop = { [unowned t] in
            checks += 1
            return t.position.globalStep == k
        }
        #expect(try t.run() == .stopped)
        #expect(t.position == Trainer.Position(epoch: k / stepsPerEpoch, stepInEpoch: k % stepsPerEpoch, globalStep: k))
        #expect(checks == k + 1, "checked before every step, and once more where it stopped")
        #expect(bits(t) != bits(reference), "stopped part-way, the parameters are not yet the final ones")

        // The same trainer, run on.
        t.shouldStop = { false }
        #expect(try t.run() == .finished)
        #expect(t.position == reference.position)
        #expect(bits(t) == bits(reference), "continued run differs from the uninterrupted one")
    }

    @Test("a fresh trainer given the parameters, momentum and position of a stopped one finishes bitwise the same",
          arguments: [6, 8])
    func resumeInFreshTrainer(k: Int) throws {
        let reference = try trainer(seed: 5, epochs: 4)
        _ = try reference.run()

        let first = try trainer(seed: 5, epochs: 4)
        first.shouldStop = { [unowned first] in first.position.globalStep == k }
        #expect(try first.run() == .stopped)

        // What a checkpoint holds: parameters, buffers, momentum, position. The new trainer starts from another seed's
        // initialisation, so that everything it ends with must come from the copied state.
        let resumed = try trainer(seed: 5, epochs: 4)
        resumed.model.initialize(seed: 999, .kaimingNormal, gain: 1)
        resumed.model.parameters.assign(first.model.parameters.values)
        resumed.model.state.assign(first.model.state.values)
        resumed.momentum.assign(first.momentum.values)
        resumed.position = first.position
        #expect(try resumed.run() == .finished)
        #expect(bits(resumed) == bits(reference))
    }

    @Test("the same seed gives bitwise the same parameters; another seed other ones")
    func seeds() throws {
        func trained(_ seed: UInt64) throws -> [UInt32] {
            let t = try trainer(seed: seed, epochs: 2)
            _ = try t.run()
            return bits(t)
        }
        let a = try trained(21), b = try trained(21), c = try trained(22)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 6 * 6 * 16 + 16 + 16 * 3 + 3)
    }

    @Test("onEpoch: one row per evaluated epoch, with its epoch, step and learning rate")
    func epochRows() throws {
        // Evaluated every 2 epochs and after the last: epochs 2, 4 and 5 of 5.
        let schedule = LearningRate(base: 0.1, schedule: .step(every: 2, factor: 0.5))
        let t = try trainer(seed: 4, epochs: 5, evaluateEvery: 2, learningRate: schedule)
        var rows: [EpochMetrics] = []
        t.onEpoch = { rows.append($0) }
        #expect(try t.run() == .finished)
        #expect(rows.map(\.epoch) == [2, 4, 5])
        #expect(rows.map(\.step) == [2, 4, 5].map { $0 * stepsPerEpoch })
        // Epoch e (1-based) trains at the rate of 0-based epoch e − 1: 0.1 for epochs 1–2, 0.05 for 3–4, 0.025 for 5.
        let expected = [0.1, 0.05, 0.025]
        for (row, lr) in zip(rows, expected) {
            #expect(abs(row.lr - lr) < 1e-7, "epoch \(row.epoch): lr \(row.lr), expected \(lr)")
        }
        for row in rows {
            #expect((0...1).contains(row.testError))
            #expect(row.testLoss.isFinite && row.testLoss > 0)
            #expect(row.seconds >= 0 && row.samplesPerSecond > 0)
        }

        // Measuring the training set: every epoch, with train loss and error.
        let measured = try trainer(seed: 4, epochs: 3, evaluateTrainingSet: true)
        var measuredRows: [EpochMetrics] = []
        measured.onEpoch = { measuredRows.append($0) }
        _ = try measured.run()
        #expect(measuredRows.map(\.epoch) == [1, 2, 3])
        #expect(measuredRows.map(\.step) == [4, 8, 12])
        #expect(measuredRows.allSatisfy { $0.trainLoss.map { $0.isFinite && $0 >= 0 } == true })
        #expect(measuredRows.allSatisfy { $0.trainError.map { (0...1).contains($0) } == true })
    }

    @Test("an error thrown by onEpoch ends the run with that error, after the epoch's steps")
    func onEpochError() throws {
        struct Full: Error {}
        let t = try trainer(seed: 4, epochs: 3)
        t.onEpoch = { m in if m.epoch == 2 { throw Full() } }
        #expect(throws: Full.self) { try t.run() }
        #expect(t.position.globalStep == 2 * stepsPerEpoch)
    }

    @Test("a global batch larger than the training set: buffers for the training set, one step per epoch")
    func batchLargerThanTheData() throws {
        let (train, test) = try splits()
        for batch in [100_000, Int.max] {
            let job = try Job(text: "[run]\nepochs = 2\n[model]\nhidden = [4]\n[optim]\nbatch_size = \(batch)\n[eval]\nbatch_size = 20\n",
                              source: "huge.toml")
            let (t, sync) = try TrainingRun.trainer(job, train: train, test: test, world: .solo)
            defer { sync.release() }
            #expect(t.model.maxBatch == 60, "batch \(batch)")
            #expect(t.stepsPerEpoch == 1)
            #expect(try t.run() == .finished)
            #expect(t.position.globalStep == 2)
        }
        // Each rank holds its share of a batch, or one chunk of its share of an evaluation.
        #expect(TrainingRun.maxBatch(batch: 100_000_000, evalBatch: 500, train: 512, test: 100, ranks: 4) == 128)
        #expect(TrainingRun.maxBatch(batch: 100, evalBatch: 500, train: 60_000, test: 10_000, ranks: 3) == 500)
        #expect(TrainingRun.maxBatch(batch: 128, evalBatch: 500, train: 60, test: 20, ranks: 2) == 30)
    }
}
