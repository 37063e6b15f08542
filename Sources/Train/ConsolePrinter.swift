// ConsolePrinter.swift — what a person watching a run sees: a start-up table of the effective configuration,
// one line per epoch (loss, errors, throughput, ETA), and where the results went.
import Data
import Job
import Layers
import Report
import Tensor
#if canImport(Glibc)
import Glibc
#endif

public final class ConsolePrinter {
    public let quiet: Bool
    /// Only one rank prints (set false on the others).
    public var enabled = true
    private var epochsSeen = 0, secondsSeen = 0.0

    public init(quiet: Bool = false) { self.quiet = quiet }

    func line(_ s: String) {
        guard enabled else { return }
        print(s)
        fflush(nil)
    }

    public func startTable(job: Job, model: Model, spec: ModelSpec, train: PreparedSplit, test: PreparedSplit,
                           stepsPerEpoch: Int, directory: String, extra: [(String, String)] = [],
                           threads: String = "\(BLAS.threads) per rank") {
        var rows: [(String, String)] = [
            ("job", job.source),
            ("run directory", directory),
            ("data", "\(job.string("data.set")) \(train.shape) · train \(train.count) · test \(test.count) · \(train.classes) classes"),
            ("preprocessing", describeData(job)),
            ("model", "\(spec.canonical)"),
            ("parameters", grouped(model.parameterCount)),
            ("optimiser", "\(job.string("optim.loss")) · batch \(job.int("optim.batch_size")) · \(stepsPerEpoch) steps/epoch · lr \(JobValue.double(job.double("optim.lr"))) \(describeSchedule(job)) · momentum \(JobValue.double(job.double("optim.momentum")))\(job.bool("optim.nesterov") ? " Nesterov" : "")\(job.double("optim.dampening") > 0 ? " dampening \(JobValue.double(job.double("optim.dampening")))" : "") · L2 \(JobValue.double(job.double("optim.l2"))) · L1 \(JobValue.double(job.double("optim.l1")))\(job.doubles("optim.class_weights").map { " · class weights \(JobValue.array($0.map(JobValue.double)))" } ?? "")"),
            ("epochs", "\(job.int("run.epochs"))\(job.bool("run.stop_at_zero_train_error") ? " (or zero training error)" : "")"),
            ("seed", "\(job.int("run.seed"))"),
            ("BLAS threads", threads),
        ]
        rows.insert(contentsOf: extra, at: 2)
        let width = rows.map { $0.0.count }.max() ?? 0
        line("descent train")
        for (k, v) in rows { line("  " + k + String(repeating: " ", count: width - k.count) + "  " + v) }
    }

    private func describeData(_ job: Job) -> String {
        var parts = ["normalize \(job.string("data.normalize"))"]
        if job.int("data.subset") > 0 { parts.append("subset \(job.int("data.subset")) (\(job.string("data.subset_mode")))") }
        if let mean = job.doubles("data.mean") { parts.append("mean \(JobValue.array(mean.map(JobValue.double)))") }
        if let std = job.doubles("data.std") { parts.append("std \(JobValue.array(std.map(JobValue.double)))") }
        if job.int("data.test_subset") > 0 { parts.append("test subset \(job.int("data.test_subset"))") }
        if job.string("data.negative") != "none" { parts.append("negative images: \(job.string("data.negative"))") }
        if job.double("data.label_noise") > 0 { parts.append("label noise \(job.double("data.label_noise"))") }
        if job.string("data.corruption") != "none" {
            parts.append("corruption \(job.string("data.corruption"))\(job.bool("data.corrupt_test") ? " (train and test)" : " (train only)")")
        }
        if job.string("data.augment") != "none" { parts.append("augment \(job.string("data.augment"))") }
        return parts.joined(separator: " · ")
    }

    private func describeSchedule(_ job: Job) -> String {
        let gamma = JobValue.double(job.double("optim.gamma"))
        var text: String
        switch job.string("optim.schedule") {
        case "step": text = "step (× \(gamma) every \(job.int("optim.step_every")) epochs)"
        case "multistep": text = "multistep (× \(gamma) from epochs \(JobValue.array(job.ints("optim.milestones").map { .int($0 + 1) })))"
        case "cosine":
            let period = job.int("optim.cosine_epochs")
            text = "cosine (to \(JobValue.double(job.double("optim.min_lr"))) over \(period > 0 ? period : job.int("run.epochs")) epochs)"
        default: text = job.string("optim.schedule")
        }
        let warmup = job.double("optim.warmup_epochs")
        if warmup > 0 { text += " after \(JobValue.double(warmup)) warm-up epochs" }
        return text
    }

    /// A line outside the table (a warning), printed even when quiet.
    public func note(_ s: String) { line(s) }

    public func epoch(_ m: EpochMetrics, of epochs: Int, elapsed: Double) {
        epochsSeen += 1
        guard !quiet else { return }
        let perEpoch = elapsed / Double(max(epochsSeen, 1))   // epochs of this process (a resumed run has fewer)
        let eta = perEpoch * Double(epochs - m.epoch)
        // The training set's own evaluation when there is one, otherwise the running means over the batches.
        let train = m.trainLoss.map { "train loss \(fixed($0, 4)) err \(percent(m.trainError ?? .nan))" }
            ?? m.batchLoss.map { "batch loss \(fixed($0, 4)) err \(percent(m.batchError ?? .nan))" } ?? ""
        line("epoch \(m.epoch)/\(epochs)  \(train)  test loss \(fixed(m.testLoss, 4)) err \(percent(m.testError)) (acc \(fixed(1 - m.testError, 4)))  lr \(m.lr)  \(grouped(Int(m.samplesPerSecond))) samples/s  ETA \(formatDuration(eta))")
    }

    public func finish(outcome: Trainer.Outcome, last: EpochMetrics?, directory: String, plots: [String], seconds: Double) {
        let how = switch outcome {
        case .finished: "finished"
        case .reachedZeroTrainError: "reached zero training error"
        case .stopped: "stopped at a step boundary"
        }
        var summary = "descent: \(how) in \(formatDuration(seconds))"
        if let last { summary += "; epoch \(last.epoch): test accuracy \(fixed(1 - last.testError, 4)), test loss \(fixed(last.testLoss, 4))" }
        line(summary)
        line("results: \(directory)/ (job.toml, metrics.csv, metrics.jsonl\(plots.isEmpty ? "" : ", plots/"))")
    }
}

func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = (x * scale).rounded() / scale
    var s = "\(v)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

func percent(_ x: Double) -> String { fixed(100 * x, 2) + "%" }

func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(c) }
    return String(out.reversed())
}
