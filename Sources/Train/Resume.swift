// Resume.swift — continuing a run from a checkpoint: which one (rank 0 chooses, every rank reads it), whether
// it belongs to this job (same model, same data, same sample order), and putting its state back: parameters,
// statistics, this rank's part of the momentum, the position in the epoch and the epoch's batch sums. At the
// same rank count the continued run is bitwise the uninterrupted one; at another it follows the same samples.
import Checkpoint
import Distributed
import Job
import Layers
import Report

/// Where a run's state comes from.
public enum ResumeMode: Equatable, Sendable {
    /// The newest valid checkpoint in the run directory, if there is one; else a fresh start.
    case auto
    /// This checkpoint file (an error if it does not validate).
    case path(String)
    /// A fresh start, whatever the run directory holds.
    case never

    /// True for `.path`: the checkpoint is named by the user, not looked for in the run directory.
    var namesCheckpoint: Bool { if case .path = self { true } else { false } }
}

/// The job keys that must match for a checkpoint to continue this run: the model, the data and the order of
/// the samples (a different batch size would change what a step is). Not data.path: the data's fingerprint is
/// compared instead, so that a data directory may move.
let resumeKeys = ["data.set", "data.subset", "data.subset_mode", "data.test_subset", "data.normalize", "data.mean", "data.std",
                  "data.negative", "data.label_noise", "data.corruption", "data.corrupt_test", "data.augment", "run.seed",
                  "optim.batch_size"]

extension TrainingRun {
    /// The checkpoint to continue from, read and validated on every rank, or nil for a fresh start.
    func checkpointToResume(runDirectory: String) throws -> (path: String, contents: CheckpointContents)? {
        let chosen: String = try world.agreeing {
            guard world.isRoot else { return "" }
            switch resume {
            case .never: return ""
            case .path(let path):
                _ = try CheckpointFile.read(path)
                return path
            case .auto:
                let found = Checkpointer.newestValid(in: runDirectory + "/checkpoints") { printer.note("descent: \($0)") }
                return found?.path ?? ""
            }
        }
        let path = world.broadcast(chosen)
        guard !path.isEmpty else { return nil }
        return (path, try world.agreeing { try CheckpointFile.read(path) })
    }

    /// The run's id, the same on every rank: the resumed checkpoint's, else (a fresh start, or a checkpoint
    /// written before checkpoints had ids) a new one.
    func runID(resuming c: CheckpointContents?) -> String {
        let id = c.map(\.state.runID).flatMap { $0.isEmpty ? nil : $0 } ?? Checkpointer.newRunID()
        return world.broadcast(world.isRoot ? id : "")
    }

    /// Rank 0: makes checkpoints/ this run's on a fresh start, or when the checkpoint it resumes (`resumed`) is of
    /// another run than the one recorded there (Checkpointer.takeOver). Returns a note when checkpoints were moved.
    func claimCheckpoints(_ directory: String, runID: String, resumed: String?) throws -> String? {
        let recorded = Checkpointer.runID(in: directory)
        if resumed != nil && recorded == runID { return nil }
        if resumed != nil && recorded == nil {
            try Checkpointer.record(runID, in: directory)
            return nil
        }
        guard let moved = try Checkpointer.takeOver(directory, for: runID, keeping: resumed) else { return nil }
        return "descent: checkpoints of the earlier run marked with .keep (\(moved.names.joined(separator: ", "))) moved to \(moved.directory)"
    }

    /// What to do instead of resuming this checkpoint: an explicit --resume PATH names the wrong file; one found in
    /// the run directory belongs to an earlier run of another job.
    var refusalHint: String {
        resume.namesCheckpoint ? "HINT: --resume a checkpoint of this job, or leave --resume out"
            : "HINT: another run.name, or --no-resume to start over"
    }

    /// Refuses a checkpoint from another model or another data set, naming both.
    func checkCompatible(_ c: CheckpointContents, path: String, spec: ModelSpec, model: Model) throws {
        guard c.modelSpec == spec.canonical, c.layout == model.layout else {
            throw JobError("\(path) holds a checkpoint of model \(c.modelSpec), but \(job.source) trains \(spec.canonical); \(refusalHint)")
        }
        let stored = try Job(text: c.job, source: "\(path) (stored job)")
        for key in resumeKeys where stored.values[key] != job.values[key] {
            let was = stored.values[key].map { "\($0)" } ?? "unset", now = job.values[key].map { "\($0)" } ?? "unset"
            throw JobError("\(path) was written with \(key) = \(was), but \(job.source) has \(key) = \(now): it trains on other data or in another order; \(refusalHint)")
        }
        if let was = c.dataFingerprint, was != dataFingerprint {
            let wasPath = stored.values["data.path"].map { "\($0)" } ?? "unset", nowPath = job.values["data.path"].map { "\($0)" } ?? "unset"
            throw JobError("\(path) was trained on other data: data.path = \(wasPath) held \(was); \(job.source) has data.path = \(nowPath), which holds \(dataFingerprint); \(refusalHint)")
        }
    }

    /// Puts the checkpoint's state into the model, the momentum shard and the trainer; returns its metrics rows.
    func restore(_ c: CheckpointContents, trainer: Trainer, sync: GradientSync) -> [EpochMetrics] {
        let model = trainer.model
        sync.setParameters(model, c.parameters)
        if model.state.count == c.buffers.count { model.state.assign(c.buffers) }
        if let m = c.momentum, sync.momentum.count > 0 {
            let range = sync.momentumRange
            m.withUnsafeBufferPointer { sync.momentum.data.update(from: $0.baseAddress! + range.lowerBound, count: range.count) }
        }
        trainer.position = Trainer.Position(epoch: c.state.epoch, stepInEpoch: c.state.stepInEpoch, globalStep: c.state.globalStep)
        // The epoch's batch sums so far are global: rank 0 carries them, the others start from zero, and the
        // end-of-epoch reduction adds them up.
        let s = c.state.batchSums
        trainer.epochSums = world.isRoot ? .init(loss: s[0], correct: Int(s[1]), count: Int(s[2]), samples: Int(s[3])) : .init()
        return c.metrics.compactMap { EpochMetrics(values: $0) }
    }
}
