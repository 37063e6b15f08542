// CheckpointTests.swift — checkpoints through the built executable: resume after an interruption gives the
// uninterrupted run's bytes; a damaged newest checkpoint (bytes flipped in /params, the file truncated, `latest`
// naming nothing, a damaged layout table, momentum, normalisation, state or metrics) is reported in one line and
// the previous one is used; a checkpoint of another model or data set, a directory, a non-HDF5 file are refused
// with one line; h5py reads every documented field; /model@image_width (the width of a segmentation model's
// training images) is written when known, and its absence reads as nil; a fresh start removes an earlier run's
// checkpoints (moving marked ones aside), and another run's is never resumed; a run ended at zero training error
// stays ended.
import Checkpoint
import Foundation
import Testing

/// 240 samples in batches of 32: 8 steps per epoch; 3 epochs; a checkpoint every 4 steps, the last 10 kept.
private func checkpointFixture() throws -> TrainingFixture {
    try TrainingFixture(epochs: 3, extra: [("checkpoint", ["every = \"4 steps\"", "keep = 10"])])
}

private func parameters(_ path: String) throws -> [Float] { try CheckpointFile.read(path).parameters }

/// The checkpoint files (step-N.h5) of a checkpoints directory, sorted by name.
private func checkpointFiles(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("step-") && $0.hasSuffix(".h5") }.sorted()
}

/// Edits (h5py) of a checkpoint's structure that no checksum covers: each must read as corrupt, never trap.
private let structuralDamage: [String: String] = [
    "layout rank": "f['model/layout/rank'][3] = 5",
    "layout shape": "f['model/layout/shape'][1, 0] = -16",
    "layout offset gap": "f['model/layout/offset'][1] += 4",
    "layout offset outside": "f['model/layout/offset'][2] = 10**12",
    "momentum length": """
    m = f['optimizer/momentum'][()][:-1]; del f['optimizer/momentum']
    f.create_dataset('optimizer/momentum', data=m).attrs['crc32'] = np.int64(zlib.crc32(m.tobytes()))
    """,
    "buffer layout": """
    g = f['model/buffer_layout']
    for k in list(g): del g[k]
    g['name'], g['offset'], g['rank'], g['shape'] = np.array([b'bn.mean']), np.array([0]), np.array([1]), np.array([[3, 0, 0, 0]])
    """,
    "shift length": """
    v = np.zeros(3, dtype=np.float32); del f['data/shift']
    f.create_dataset('data/shift', data=v).attrs['crc32'] = np.int64(zlib.crc32(v.tobytes()))
    """,
    "batch sums": "f['state'].attrs['batch_correct'] = np.nan",
    "metrics": "f['metrics'][-1, 0] = np.nan",
]

/// Runs Debian's python3 (with python3-h5py) on `script` with `arguments`.
private func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.arguments = ["-c", script] + arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.runHoldingHDF5Lock()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("checkpoints and resume")
struct CheckpointTests {
    @Test("a run resumed from its checkpoint ends with the uninterrupted run's parameters, byte for byte")
    func resumeIsExact() async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.name=whole"])
        let checkpoints = f.run("whole") + "/checkpoints"
        #expect(try readText(checkpoints + "/latest") == "step-24.h5\n")
        // Continue a copy of the run from step 12 (mid-epoch 2) in another directory.
        try await f.train(["--set", "run.name=part", "--resume", checkpoints + "/step-12.h5"])
        #expect(try parameters(f.run("part") + "/final.h5") == parameters(f.run("whole") + "/final.h5"))
        #expect(try readText(f.run("part") + "/metrics.csv") .split(separator: "\n").count == 4)
    }

    @Test("a damaged newest checkpoint is reported and the previous one used",
          arguments: ["flipped", "truncated", "dangling latest"] + structuralDamage.keys.sorted())
    func damagedNewest(damage: String) async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.epochs=2"])          // checkpoints at steps 4, 8, 12, 16
        let dir = f.run("tiny") + "/checkpoints", newest = dir + "/step-16.h5"
        switch damage {
        case "flipped":
            let (status, offset) = try python("import h5py,sys; print(h5py.File(sys.argv[1],'r')['params'].id.get_offset())", [newest])
            try #require(status == 0, "\(offset)")
            let handle = try #require(FileHandle(forUpdatingAtPath: newest))
            try handle.seek(toOffset: UInt64(offset.trimmingCharacters(in: .whitespacesAndNewlines))! + 100)
            try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF, 0x00]))
            try handle.close()
        case "truncated":
            let size = try FileManager.default.attributesOfItem(atPath: newest)[.size] as! Int
            #expect(truncate(newest, off_t(size / 2)) == 0)
        case let kind where structuralDamage[kind] != nil:
            let edit = "import h5py, sys, zlib, numpy as np\nf = h5py.File(sys.argv[1], 'r+')\n" + structuralDamage[kind]!
            let (status, output) = try python(edit, [newest])
            try #require(status == 0, "\(output)")
            let inspect = try await descent(["inspect", newest], in: f.scratch.path)
            #expect(inspect.status == 1 && !inspect.signalled && inspect.stderrLines.count == 1
                    && inspect.stderr.hasPrefix("descent: \(newest): corrupt "), "\(inspect)")
        default:
            try "step-99.h5\n".write(toFile: dir + "/latest", atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: newest)
        }
        let outcome = try await f.train(["--set", "run.epochs=3"])
        let notes = outcome.stdoutLines.filter { $0.hasPrefix("descent: ") && !$0.hasPrefix("descent: finished") }
        if damage == "dangling latest" {
            #expect(notes.count == 1 && notes[0].contains("step-99.h5, which does not exist"), "\(outcome)")
        } else {
            let reason = ["flipped": "checksum mismatch in /params", "truncated": "damaged or truncated"][damage] ?? ": corrupt "
            #expect(notes.count == 1 && notes[0].hasPrefix("descent: \(newest): ") && notes[0].contains(reason)
                    && notes[0].hasSuffix("using an older checkpoint"), "\(outcome)")
        }
        // Epochs numbered from 1, as in the progress lines: 8 steps per epoch, so step 12 is 4 steps into epoch 2.
        #expect(outcome.stdout.contains("resuming from \(dir)/step-12.h5: 4 steps into epoch 2 (global step 12)"), "\(outcome)")
        // The run continued from step 12: the same end as one that was never interrupted.
        try await f.train(["--set", "run.epochs=3", "--set", "run.name=clean"])
        #expect(try parameters(f.run("tiny") + "/final.h5") == parameters(f.run("clean") + "/final.h5"))
    }

    @Test("checkpoints that cannot continue this run are refused with one line",
          arguments: ["model", "data", "data path", "data.mean", "data.augment", "directory", "not hdf5", "missing", "version"])
    func refused(kind: String) async throws {
        let f = try checkpointFixture()
        var base: [String] = []   // the job of the checkpoint; the refused run adds `extra`
        var extra: [String] = []
        switch kind {
        case "data.mean":
            base = ["--set", "data.normalize=standardize", "--set", "data.std=[0.3]"]
            (base, extra) = (base + ["--set", "data.mean=[0.2]"], base + ["--set", "data.mean=[0.25]"])
        case "data.augment":
            let converted = f.scratch.file("h5")
            let outcome = try await descent(["data", "convert", "--path", f.data, "--out", converted], in: f.scratch.path)
            try #require(outcome.succeeded, "\(outcome)")
            base = ["--set", "data.set=hdf5", "--set", "data.path=\(converted)"]
            extra = base + ["--set", "data.augment=flip_rotate"]
        default: break
        }
        try await f.train(["--set", "run.epochs=1"] + base)
        var path = f.run("tiny") + "/checkpoints/step-8.h5"
        switch kind {
        case "model": extra = ["--set", "model.hidden=[8]"]
        case "data": extra = ["--set", "data.subset=100"]
        case "data path":   // the same counts, shape and classes; other labels
            var train = learnableImages(count: 240, seed: 1)
            train.labels.reverse()
            try writeIDXDirectory(f.scratch.file("other"), train: train, test: learnableImages(count: 60, seed: 2))
            extra = ["--set", "data.path=\(f.scratch.file("other"))"]
        case "directory": path = f.run("tiny") + "/checkpoints"
        case "not hdf5": path = f.run("tiny") + "/job.toml"
        case "version":
            let (status, output) = try python("import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs['version']=99", [path])
            try #require(status == 0, "\(output)")
        case "missing": path = f.run("tiny") + "/checkpoints/step-999.h5"
        default: break
        }
        let outcome = try await descent(["train", f.job, "--set", "run.name=other", "--resume", path] + extra, in: f.scratch.path)
        #expect(outcome.status == 1, "\(outcome)")
        let lines = outcome.stderrLines, line = lines.first ?? ""
        #expect(lines.count == 1 && line.hasPrefix("descent: ") && line.contains(path), "\(outcome)")
        if kind == "model" { #expect(line.contains("mlp(hidden=[16])") && line.contains("mlp(hidden=[8])")) }
        if kind == "data" { #expect(line.contains("data.subset")) }
        if kind == "data path" {
            #expect(line.contains("data.path = \"\(f.data)\"") && line.contains("data.path = \"\(f.scratch.file("other"))\"")
                    && line.contains("other data"), "\(outcome)")
        }
        if kind.hasPrefix("data.") { #expect(line.contains("\(kind) = "), "\(outcome)") }
        if kind == "version" { #expect(line.contains("format version 99")) }
        #expect(!exists(f.run("other") + "/final.h5"))
    }

    @Test("a checkpoint resumes after its data directory moved")
    func movedData() async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.epochs=1"])
        let moved = f.scratch.file("moved")
        try FileManager.default.moveItem(atPath: f.data, toPath: moved)
        let outcome = try await f.train(["--set", "data.path=\(moved)", "--set", "run.epochs=2"])
        #expect(outcome.stdout.contains("resuming from \(f.run("tiny"))/checkpoints/step-8.h5"), "\(outcome)")
    }

    @Test("h5py and h5dump -H read every documented field; h5py rebuilds the named tensors")
    func h5pyReadsTheLayout() async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.epochs=1"])
        let script = """
        import h5py, sys, numpy as np
        f = h5py.File(sys.argv[1], "r")
        text = lambda v: v.decode() if isinstance(v, bytes) else v   # fixed-length strings come back as bytes
        assert text(f.attrs["format"]) == "descent-checkpoint" and f.attrs["version"] == 1
        for k in ["descent_version", "created"]: f.attrs[k]
        for k in ["spec", "job", "classes"]: f["model"].attrs[k]
        for k in ["epoch", "step_in_epoch", "global_step", "seed", "world_size", "learning_rate", "requeue_count", "run_id", "reached_zero_train_error"]: f["state"].attrs[k]
        assert text(f["data"].attrs["fingerprint"]).startswith("train 240 × [1, 28, 28] (labels crc32 ")
        params = f["params"][()]
        lay = f["model/layout"]
        tensors = {n.decode(): params[o:o + int(np.prod(s[:r]))].reshape(s[:r]) for n, o, r, s in zip(lay["name"][()], lay["offset"][()], lay["rank"][()], lay["shape"][()])}
        assert sum(t.size for t in tensors.values()) == params.size
        assert f["optimizer/momentum"].shape == params.shape
        assert text(f["metrics"].attrs["columns"]).split(",")[0] == "epoch"
        for d in ["params", "optimizer/momentum", "buffers"]: f[d].attrs["crc32"]
        print(" ".join(f"{n}{list(t.shape)}" for n, t in tensors.items()))
        """
        let (status, output) = try python(script, [f.run("tiny") + "/checkpoints/step-8.h5"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("fc1.weight[16, 784]") && output.contains("fc2.bias[10]"), "\(output)")

        // h5dump -H (Debian hdf5-tools) lists every documented group, dataset and attribute.
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/h5dump")
        dump.arguments = ["-H", f.run("tiny") + "/checkpoints/step-8.h5"]
        let pipe = Pipe()
        dump.standardOutput = pipe
        try dump.runHoldingHDF5Lock()
        let header = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dump.waitUntilExit()
        #expect(dump.terminationStatus == 0)
        for name in ["ATTRIBUTE \"format\"", "GROUP \"model\"", "GROUP \"layout\"", "DATASET \"params\"", "GROUP \"optimizer\"",
                     "DATASET \"momentum\"", "GROUP \"state\"", "ATTRIBUTE \"global_step\"", "DATASET \"metrics\"", "ATTRIBUTE \"crc32\""] {
            #expect(header.contains(name), "h5dump -H lacks \(name)")
        }
    }

    @Test("/model@image_width: written when the contents have one and read back; a checkpoint without it reads nil")
    func imageWidthRoundTrip() async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.epochs=1"])
        let plain = f.run("tiny") + "/checkpoints/step-8.h5", wide = f.scratch.file("wide.h5")
        var c = try CheckpointFile.read(plain)
        #expect(c.imageWidth == nil)   // trained on IDX files: no image width, no attribute
        c.imageWidth = 16_384
        try CheckpointFile.write(c, to: wide)
        let back = try CheckpointFile.read(wide)
        #expect(back.imageWidth == 16_384 && back.parameters == c.parameters && back.state == c.state)
        let (status, output) = try python("import h5py,sys; print(*[h5py.File(p,'r')['model'].attrs.get('image_width') for p in sys.argv[1:]])", [plain, wide])
        #expect(status == 0 && output == "None 16384\n", "\(output)")
    }

    @Test("inspect: the state, every tensor with its shape, JSON for scripts; a run directory shows its newest checkpoint")
    func inspect() async throws {
        let f = try checkpointFixture()
        try await f.train(["--set", "run.epochs=1"])
        let text = try await descent(["inspect", f.run("tiny")], in: f.scratch.path)
        #expect(text.succeeded, "\(text)")
        #expect(text.stdoutLines.first == f.run("tiny") + "/checkpoints/step-8.h5: descent-checkpoint version 1")
        #expect(text.stdout.contains("state      at the end of epoch 1 (global step 8) · ") && text.stdout.contains("fc1.weight  [16, 784]  norm "), "\(text)")
        let json = try await descent(["inspect", f.run("tiny") + "/final.h5", "--json"], in: f.scratch.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        #expect((object["state"] as? [String: Any])?["global_step"] as? Int == 8)
        #expect((object["tensors"] as? [[String: Any]])?.count == 4)
        let bad = try await descent(["inspect", f.job], in: f.scratch.path)
        #expect(bad.status == 1 && bad.stderrLines == ["descent: \(f.job): not an HDF5 file (or truncated: its superblock is unreadable)"], "\(bad)")
    }

    @Test("a fresh start removes the earlier run's checkpoints: the new run's are kept and resumed, the earlier run is not")
    func freshStartReplacesCheckpoints() async throws {
        let f = try TrainingFixture(epochs: 3, extra: [("checkpoint", ["every = \"4 steps\"", "keep = 2"])])
        try await f.train()                                       // run A (lr 0.1): step-20, step-24
        let dir = f.run("tiny") + "/checkpoints", b = ["--set", "optim.lr=0.05"]
        // Run B starts over with another lr and fails at step 10, after its checkpoints at steps 4 and 8.
        let failed = try await descent(["train", f.job, "--no-resume"] + b, in: f.scratch.path, environment: ["DESCENT_FAULT": "fail:0:10"])
        #expect(failed.status == 1 && failed.stderr.contains("injected fault"), "\(failed)")
        #expect(try checkpointFiles(dir) == ["step-4.h5", "step-8.h5"])
        #expect(try readText(dir + "/latest") == "step-8.h5\n")
        let resumed = try await f.train(b)
        #expect(resumed.stdout.contains("resuming from \(dir)/step-8.h5"), "\(resumed)")
        #expect(try MetricsFile(f.run("tiny") + "/metrics.csv").column("lr") == ["0.05", "0.05", "0.05"])
        try await f.train(b + ["--set", "run.name=clean"])
        #expect(try parameters(f.run("tiny") + "/final.h5") == parameters(f.run("clean") + "/final.h5"))
    }

    @Test("a fresh start moves the earlier run's marked checkpoints aside; another run's checkpoint is never resumed")
    func earlierRunsKeptCheckpoints() async throws {
        let f = try TrainingFixture(epochs: 3, extra: [("checkpoint", ["every = \"4 steps\"", "keep = 2"])])
        try await f.train()                                       // run A: step-20, step-24
        let dir = f.run("tiny") + "/checkpoints"
        try "".write(toFile: dir + "/step-20.h5.keep", atomically: true, encoding: .utf8)
        let fresh = try await f.train(["--no-resume", "--set", "run.epochs=1"])   // run B: step-4, step-8
        let moved = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix("earlier-run-") }, "\(fresh)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/" + moved).sorted() == ["step-20.h5", "step-20.h5.keep"])
        #expect(fresh.stdout.contains("\(dir)/\(moved)"), "\(fresh)")
        #expect(try checkpointFiles(dir) == ["step-4.h5", "step-8.h5"])
        // Run A's checkpoint put back under a higher step number, `latest` gone: B's newest is resumed.
        try FileManager.default.copyItem(atPath: dir + "/" + moved + "/step-20.h5", toPath: dir + "/step-28.h5")
        try FileManager.default.removeItem(atPath: dir + "/latest")
        let resumed = try await f.train(["--set", "run.epochs=2"])
        #expect(resumed.stdout.contains("resuming from \(dir)/step-8.h5"), "\(resumed)")
        #expect(resumed.stdout.contains("\(dir)/step-28.h5: a checkpoint of another run"), "\(resumed)")
    }

    @Test("a run that stopped at zero training error is finished: run again, or after a kill while writing final.h5, it trains no further")
    func zeroTrainingErrorIsTheEnd() async throws {
        let f = try TrainingFixture(epochs: 40, extra: [("run", ["stop_at_zero_train_error = true"])])
        let first = try await f.train()
        let run = f.run("tiny"), metrics = try readText(run + "/metrics.csv")
        #expect(first.stdout.contains("descent: reached zero training error"), "\(first)")
        try #require(metrics.split(separator: "\n").count - 1 < 40, "\(first)")
        let model = try parameters(run + "/final.h5")
        let again = try await f.train()
        #expect(again.stdout.contains("descent: reached zero training error"), "\(again)")
        #expect(try readText(run + "/metrics.csv") == metrics)
        try FileManager.default.removeItem(atPath: run + "/final.h5")   // as if killed while writing it
        let afterKill = try await f.train()
        #expect(afterKill.stdout.contains("descent: reached zero training error"), "\(afterKill)")
        #expect(try readText(run + "/metrics.csv") == metrics)
        #expect(try parameters(run + "/final.h5") == model)
        #expect(try readText(run + "/status.json").contains("\"finished\""))
    }

    @Test("only the newest checkpoint.keep checkpoints stay, plus those marked with a .keep file")
    func retention() async throws {
        let f = try TrainingFixture(epochs: 2, extra: [("checkpoint", ["every = \"2 steps\"", "keep = 2"])])
        try await f.train(["--set", "run.epochs=1"])                     // checkpoints at steps 2, 4, 6, 8
        let dir = f.run("tiny") + "/checkpoints"
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["latest", "run-id", "step-6.h5", "step-8.h5"])
        try "".write(toFile: dir + "/step-6.h5.keep", atomically: true, encoding: .utf8)
        try await f.train(["--set", "run.epochs=2"])                     // resumes at 8; checkpoints 10 … 16
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                == ["latest", "run-id", "step-14.h5", "step-16.h5", "step-6.h5", "step-6.h5.keep"])
    }
}
