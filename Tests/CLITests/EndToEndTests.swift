// EndToEndTests.swift — `descent train`, `predict`, `report` and `data convert` run as a user runs them, on tiny
// data sets the tests write in the real formats: what each prints, what a run directory holds, and that the
// files one command writes are what the next reads (the effective job.toml trains again, final.h5 predicts,
// metrics.csv plots, converted HDF5 files train exactly like their sources).
import Checkpoint
import Foundation
import Testing

/// A scratch directory with gzipped IDX data (240 training and 60 test images of 28×28) and the tiny job.
struct TrainingFixture {
    let scratch: Scratch
    let data: String
    let job: String
    let runs: String

    init(epochs: Int = 2, extra: [(String, [String])] = []) throws {
        scratch = try Scratch()
        data = scratch.file("data")
        runs = scratch.file("runs")
        job = scratch.file("job.toml")
        try writeIDXDirectory(data, train: learnableImages(count: 240, seed: 1), test: learnableImages(count: 60, seed: 2))
        try tinyJob(data: data, output: runs, epochs: epochs, extra: extra).write(toFile: job, atomically: true, encoding: .utf8)
    }

    func run(_ name: String) -> String { runs + "/" + name }

    /// `descent train job.toml extra…`, which must succeed.
    @discardableResult
    func train(_ extra: [String] = []) async throws -> Outcome {
        let outcome = try await descent(["train", job] + extra, in: scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        return outcome
    }
}

@Suite("descent, end to end")
struct EndToEndTests {
    @Test("train: exit 0, the start-up table, one line per epoch, a complete run directory")
    func train() async throws {
        let f = try TrainingFixture()
        let outcome = try await f.train()
        let run = f.run("tiny")
        #expect(outcome.stderr.isEmpty, "\(outcome)")

        // Standard output: the table, one line per epoch, where the results are.
        let lines = outcome.stdoutLines
        #expect(lines.first == "descent train")
        func row(_ key: String) -> String? {
            lines.first { $0.hasPrefix("  " + key + " ") }?.dropFirst(2 + key.count).trimmingCharacters(in: .whitespaces)
        }
        #expect(row("job") == f.job)
        #expect(row("run directory") == run)
        #expect(row("data")?.contains("[1, 28, 28] · train 240 · test 60 · 10 classes") == true, "\(outcome)")
        #expect(row("model")?.hasPrefix("mlp(hidden=[16])") == true)
        #expect(row("parameters") == "12,730")                      // 784·16 + 16 + 16·10 + 10
        #expect(row("optimiser")?.contains("batch 32 · 8 steps/epoch · lr 0.1") == true, "\(outcome)")
        #expect(row("epochs") == "2")
        #expect(row("seed") == "7")
        // Which kernels OpenBLAS runs ("SkylakeX kernels", with why when Descent chose them: Tensor/BLASKernels.swift).
        #expect(row("BLAS threads")?.contains(" · OpenBLAS ") == true && row("BLAS threads")?.contains(" kernels") == true, "\(outcome)")
        let epochLines = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("epoch ") }
        #expect(epochLines.count == 2)
        #expect(epochLines.first?.hasPrefix("epoch 1/2 ") == true)
        #expect(epochLines.last?.hasPrefix("epoch 2/2 ") == true)
        #expect(epochLines.allSatisfy { $0.contains("test loss ") && $0.contains("samples/s") })
        #expect(lines.last?.hasPrefix("results: \(run)/") == true, "\(outcome)")

        // The run directory.
        for file in ["job.toml", "metrics.csv", "metrics.jsonl", "status.json", "final.h5", "plots/loss.svg", "plots/error.svg"] {
            #expect(exists(run + "/" + file), "\(run)/\(file) is missing")
        }
        let csv = try MetricsFile(run + "/metrics.csv")
        #expect(csv.header.prefix(3) == ["epoch", "step", "lr"], "\(csv.header)")
        for column in ["train_loss", "train_error", "test_loss", "test_error", "seconds", "samples_per_second"] {
            #expect(csv.header.contains(column), "metrics.csv has no column \(column): \(csv.header)")
        }
        #expect(csv.rows.count == 2, "one row per epoch")
        #expect(csv.rows.allSatisfy { $0.count == csv.header.count }, "\(csv.rows)")
        #expect(try csv.column("epoch") == ["1", "2"])
        #expect(try csv.column("step") == ["8", "16"])                // ⌈240/32⌉ = 8 steps per epoch
        let testErrors = try csv.column("test_error").map { try Double($0).orThrow("test_error \($0)") }
        #expect(testErrors.allSatisfy { (0...1).contains($0) })
        #expect(try csv.column("test_loss").allSatisfy { Double($0)?.isFinite == true })
        let jsonl = try readText(run + "/metrics.jsonl").split(separator: "\n")
        #expect(jsonl.count == csv.rows.count, "metrics.jsonl: one line per row of metrics.csv")
        for (i, line) in jsonl.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["epoch"] as? Int == i + 1)
            #expect(object?["step"] as? Int == 8 * (i + 1))
            #expect((object?["test_error"] as? Double).map { abs($0 - testErrors[i]) < 1e-12 } == true)
        }
        for plot in ["loss", "error"] {
            let svg = try readText(run + "/plots/\(plot).svg")
            #expect(svg.contains("<svg") && svg.contains("</svg>"), "plots/\(plot).svg is not an SVG document")
        }
        #expect(try readBytes(run + "/final.h5").prefix(8) == hdf5Signature[...], "final.h5 is not an HDF5 file")
        #expect(try readText(run + "/status.json").contains("\"status\": \"finished\""))
        #expect(!exists(run + "/final.h5.tmp") && !exists(run + "/job.toml.tmp"), "temporary files left behind")
    }

    @Test("the effective job.toml of a run trains again, to the same metrics and the same predictions")
    func effectiveJobTrainsAgain() async throws {
        let f = try TrainingFixture()
        try await f.train()
        let first = f.run("tiny"), again = f.run("again")
        let effective = try readText(first + "/job.toml")
        #expect(effective.contains("hidden = [16]\n"), "the job's own values")
        #expect(effective.contains("# default"), "the defaults, marked")

        let outcome = try await descent(["train", first + "/job.toml", "--set", "run.name=again"], in: f.scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        #expect(try MetricsFile(again + "/metrics.csv").deterministic == MetricsFile(first + "/metrics.csv").deterministic)
        // The two effective jobs differ only in the name and the comment naming the file they came from (every key
        // of the second is given by its job file, so none is marked "# default" there).
        func values(_ text: String) -> [String] {
            text.split(separator: "\n").map { $0.replacingOccurrences(of: "   # default", with: "") }
        }
        let differing = zip(values(effective), values(try readText(again + "/job.toml"))).filter { $0 != $1 }.map { "\($0) | \($1)" }
        #expect(differing.count == 2 && differing.contains { $0.hasPrefix("name = ") }, "\(differing)")

        for run in [first, again] {
            let p = try await descent(["predict", run + "/final.h5", "--data", f.data + "/t10k-images-idx3-ubyte.gz",
                                       "--out", run + "/predictions.csv"], in: f.scratch.path)
            #expect(p.succeeded, "\(p)")
        }
        #expect(try readText(first + "/predictions.csv") == readText(again + "/predictions.csv"))
    }

    @Test("predict: a CSV with header id,label and one row per sample; the accuracy matches the run's test error")
    func predict() async throws {
        let f = try TrainingFixture()
        try await f.train()
        let run = f.run("tiny")
        let images = f.data + "/t10k-images-idx3-ubyte.gz", labels = f.data + "/t10k-labels-idx1-ubyte.gz"

        let outcome = try await descent(["predict", run + "/final.h5", "--data", images, "--out", "predictions.csv"], in: f.scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdoutLines == ["predictions.csv: 60 predictions"], "\(outcome)")
        let rows = try readText(f.scratch.file("predictions.csv")).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rows.first == "id,label")
        #expect(rows.last == "", "the file ends with a newline")
        let body = rows.dropFirst().dropLast()
        #expect(body.count == 60)
        for (i, line) in body.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == 2 && Int(fields[0]) == i, "row \(i): \(line)")
            #expect(Int(fields[1]).map { (0..<10).contains($0) } == true, "row \(i): label out of range: \(line)")
        }

        // With the labels, the accuracy: the same model on the same samples as the run's last evaluation.
        let labelled = try await descent(["predict", run + "/final.h5", "--data", images, "--labels", labels,
                                          "--out", "labelled.csv"], in: f.scratch.path)
        try #require(labelled.succeeded, "\(labelled)")
        let words: [Substring] = labelled.stdout.split(separator: " ")
        let at: Int? = words.firstIndex(of: "accuracy")
        let word: String = at.map { String(words[$0 + 1]) } ?? ""
        let parsed: Double? = Double(word.trimmingCharacters(in: CharacterSet(charactersIn: ";")))
        let printed = try #require(parsed, "\(labelled)")
        let testError = try #require(Double(try MetricsFile(run + "/metrics.csv").column("test_error").last ?? ""))
        // Printed to 4 significant digits ("0.8167", not 0.8166666666666667).
        #expect(abs(printed - (1 - testError)) < 5e-4, "predict's accuracy \(printed), the run's test error \(testError)")
        #expect(word.trimmingCharacters(in: CharacterSet(charactersIn: ";")) == String(format: "%.4g", 1 - testError), "\(labelled)")

        // descent status rounds the losses and errors the same way.
        let status = try await descent(["status", run], in: f.scratch.path)
        try #require(status.succeeded, "\(status)")
        let epochLine = try #require(status.stdoutLines.first { $0.contains("test loss") }, "\(status)")
        let numbers = epochLine.split(whereSeparator: { $0 == " " || $0 == "," }).dropFirst(4).compactMap { Double($0) }
        #expect(numbers.count >= 2, "\(status)")
        for word in epochLine.split(whereSeparator: { $0 == " " || $0 == "," }) where word.contains(".") && !word.contains("e") {
            #expect(word.filter(\.isNumber).drop { $0 == "0" }.count <= 4, "more than 4 significant digits: \(epochLine)")
        }
        #expect(try readText(f.scratch.file("labelled.csv")) == readText(f.scratch.file("predictions.csv")))
    }

    @Test("report: regenerates plots/loss.svg and plots/error.svg from metrics.csv")
    func report() async throws {
        let f = try TrainingFixture()
        try await f.train()
        let run = f.run("tiny")
        let originals = try ["loss", "error"].map { try readText(run + "/plots/\($0).svg") }
        try FileManager.default.removeItem(atPath: run + "/plots")

        let outcome = try await descent(["report", run], in: f.scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdoutLines == [run + "/plots/loss.svg", run + "/plots/error.svg"])
        #expect(try ["loss", "error"].map { try readText(run + "/plots/\($0).svg") } == originals,
                "the plots drawn by report are those the run drew")

        // A third epoch appended to metrics.csv shows in the next report.
        var metrics = try MetricsFile(run + "/metrics.csv")
        var third = try metrics.rows.last.orThrow("no rows")
        (third[try metrics.index("epoch")], third[try metrics.index("step")], third[try metrics.index("test_error")]) = ("3", "24", "0.01")
        metrics.rows.append(third)
        try metrics.text.write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        let again = try await descent(["report", run + "/"], in: f.scratch.path)
        try #require(again.succeeded, "\(again)")
        #expect(try readText(run + "/plots/error.svg") != originals[1], "report read the changed metrics.csv")
    }

    @Test("--set overrides reach the effective job.toml, the start-up table and the metrics")
    func overrides() async throws {
        let f = try TrainingFixture()
        let jobBefore = try readText(f.job)
        let outcome = try await f.train(["--set", "optim.lr=0.05", "--set", "model.hidden=[8, 4]", "--set", "run.epochs=1",
                                         "--set", "data.subset=100", "--set", "run.name=overridden", "--quiet"])
        let run = f.run("overridden")
        #expect(!exists(f.run("tiny")), "run.name from --set names the run directory")
        let effective = try readText(run + "/job.toml")
        for line in ["name = \"overridden\"\n", "epochs = 1\n", "lr = 0.05\n", "hidden = [8, 4]\n", "subset = 100\n",
                     "momentum = 0.9\n", "batch_size = 32\n"] {
            #expect(effective.contains(line), "the effective job.toml lacks \(line.debugDescription)")
        }
        #expect(try readText(f.job) == jobBefore, "the job file itself is not changed")

        #expect(outcome.stdout.contains("  parameters     6,366\n"), "\(outcome)")   // 784·8+8 + 8·4+4 + 4·10+10
        #expect(outcome.stdout.contains("subset 100 (stratified)"), "\(outcome)")
        #expect(outcome.stdout.contains("· 4 steps/epoch · lr 0.05 "), "\(outcome)")
        #expect(!outcome.stdoutLines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("epoch ") }, "--quiet prints no epoch lines")
        #expect(outcome.stdoutLines.last?.hasPrefix("results: \(run)/") == true)

        let csv = try MetricsFile(run + "/metrics.csv")
        #expect(try csv.column("epoch") == ["1"])
        #expect(try csv.column("step") == ["4"])                   // 1 epoch of ⌈100/32⌉ = 4 steps
        let lr = try csv.column("lr")
        #expect(lr.count == 1 && Double(lr[0]).map { abs($0 - 0.05) < 1e-7 } == true, "lr column: \(lr)")
    }

    @Test("data convert: IDX to HDF5 sample files, which train exactly like the IDX files")
    func convertIDX() async throws {
        let f = try TrainingFixture(epochs: 1)
        try await f.train()
        let converted = f.scratch.file("converted")
        let outcome = try await descent(["data", "convert", "--set", "fashion-mnist", "--path", f.data, "--out", converted], in: f.scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdoutLines == ["\(converted)/train.h5: 240 samples of [1, 28, 28], 10 classes",
                                        "\(converted)/test.h5: 60 samples of [1, 28, 28], 10 classes"])
        for name in ["train.h5", "test.h5"] {
            #expect(try readBytes(converted + "/" + name).prefix(8) == hdf5Signature[...])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: converted).sorted() == ["test.h5", "train.h5"],
                "only the two sample files (no temporary files)")

        let fromHDF5 = try await f.train(["--set", "data.set=hdf5", "--set", "data.path=\(converted)", "--set", "run.name=hdf5"])
        #expect(fromHDF5.stdout.contains("hdf5 [1, 28, 28] · train 240 · test 60 · 10 classes"), "\(fromHDF5)")
        #expect(try MetricsFile(f.run("hdf5") + "/metrics.csv").deterministic == MetricsFile(f.run("tiny") + "/metrics.csv").deterministic,
                "the same samples in the same order: the same training")

        let p = try await descent(["predict", f.run("hdf5") + "/final.h5", "--data", converted + "/test.h5", "--out", "p.csv"], in: f.scratch.path)
        #expect(p.succeeded && p.stdout.contains("60 predictions; accuracy "), "\(p)")
    }

    @Test("data convert: CIFAR-10 binary batches to HDF5 sample files; training from either is the same")
    func convertCIFAR() async throws {
        let scratch = try Scratch()
        let cifar = scratch.file("cifar"), converted = scratch.file("converted"), job = scratch.file("cifar.toml")
        try writeCIFARDirectory(cifar, perBatch: 8, test: 10)
        let outcome = try await descent(["data", "convert", "--set", "cifar10", "--path", cifar, "--out", converted], in: scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdoutLines == ["\(converted)/train.h5: 40 samples of [3, 32, 32], 10 classes",
                                        "\(converted)/test.h5: 10 samples of [3, 32, 32], 10 classes"])

        try jobText([("run", ["name = \"h5\"", "epochs = 1", "output = \"\(scratch.file("runs"))\""]),
                     ("data", ["set = \"hdf5\"", "path = \"\(converted)\""]),
                     ("model", ["hidden = [8]"]), ("optim", ["batch_size = 16", "lr = 0.05"])])
            .write(toFile: job, atomically: true, encoding: .utf8)
        let h5 = try await descent(["train", job], in: scratch.path)
        try #require(h5.succeeded, "\(h5)")
        let direct = try await descent(["train", job, "--set", "data.set=cifar10", "--set", "data.path=\(cifar)", "--set", "run.name=bin"], in: scratch.path)
        try #require(direct.succeeded, "\(direct)")
        let metrics = try MetricsFile(scratch.file("runs/h5/metrics.csv"))
        #expect(try metrics.column("step") == ["3"])                 // 1 epoch of ⌈40/16⌉ = 3 steps
        #expect(try metrics.deterministic == MetricsFile(scratch.file("runs/bin/metrics.csv")).deterministic)

        let p = try await descent(["predict", scratch.file("runs/h5/final.h5"), "--data", cifar + "/test_batch.bin", "--out", "p.csv"], in: scratch.path)
        try #require(p.succeeded, "\(p)")
        #expect(try readText(scratch.file("p.csv")).split(separator: "\n").count == 11)
        #expect(p.stdout.contains("10 predictions; accuracy "), "\(p)")
    }

    @Test("one process per run directory: a second train of a running run stops with one line; status tells running from killed; a rerun resumes")
    func secondTrainOfARunningRun() async throws {
        let f = try TrainingFixture(epochs: 1_000_000, extra: [("checkpoint", ["every = \"1 epochs\""])])
        let latest = f.run("tiny") + "/checkpoints/latest"
        var second: Outcome? = nil, whileRunning: Outcome? = nil
        let first = try await descent(["train", f.job, "--quiet"], in: f.scratch.path, timeLimit: 60) { process in
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline && !exists(latest) { try await Task.sleep(for: .milliseconds(10)) }
            second = try await descent(["train", f.job], in: f.scratch.path, timeLimit: 30)
            whileRunning = try await descent(["status", f.run("tiny")], in: f.scratch.path)
            kill(process.processIdentifier, SIGKILL)
        }
        let running = try #require(whileRunning)
        #expect(running.status == 0 && running.stdout.contains(": running (pid "), "\(running)")
        let afterKill = try await descent(["status", f.run("tiny")], in: f.scratch.path)
        #expect(afterKill.stdout.contains(": killed: status.json says running, but no process holds the run"), "\(afterKill)")
        #expect(first.signalled && first.status == SIGKILL, "the first run ended before it was killed: \(first)")
        let busy = try #require(second)
        #expect(busy.status == 1, "\(busy)")
        let ours = busy.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains(f.run("tiny") + ": another descent process is training this run (pid "), "\(busy)")
        // The kernel dropped the killed process's lock: the next run resumes.
        let checkpoint = try CheckpointFile.read(f.run("tiny") + "/checkpoints/" + readText(latest).trimmingCharacters(in: .whitespacesAndNewlines))
        let rerun = try await descent(["train", f.job, "--set", "run.epochs=3"], in: f.scratch.path, timeLimit: 60)
        #expect(rerun.succeeded && rerun.stdout.contains("resuming from "), "\(rerun)")
        #expect(rerun.stdout.contains("resuming with settings changed since the checkpoint: run.epochs 1000000 → 3 ("), "\(rerun)")
        // The run's time counts both attempts: the killed one's up to its checkpoint, and the rerun's.
        let final = try CheckpointFile.read(f.run("tiny") + "/final.h5")
        #expect(checkpoint.state.wallSeconds > 0 && final.state.wallSeconds > checkpoint.state.wallSeconds,
                "wall_seconds: \(checkpoint.state.wallSeconds) in the checkpoint resumed, \(final.state.wallSeconds) at the end")
    }

    @Test("a run started over an earlier one removes its results first: killed, it leaves no final.h5")
    func rerunRemovesEarlierResults() async throws {
        let f = try TrainingFixture()
        try await f.train()
        let run = f.run("tiny")
        try #require(exists(run + "/final.h5"))
        let metrics = run + "/metrics.csv", status = run + "/status.json"

        // The same run directory, a run far too long to finish: kill it once it has an epoch (SIGKILL, as the
        // out-of-memory killer or a node failure would; no handler can run).
        var sawEpoch = false
        let outcome = try await descent(["train", f.job, "--set", "run.epochs=1000000"], in: f.scratch.path, timeLimit: 60) { process in
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline {
                if (try? readText(status))?.contains("\"running\"") == true,
                   ((try? readText(metrics))?.split(separator: "\n").count ?? 0) >= 2 {
                    sawEpoch = true
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            kill(process.processIdentifier, SIGKILL)
        }
        #expect(sawEpoch, "the second run never wrote an epoch: \(outcome)")
        #expect(!outcome.timedOut, "\(outcome)")
        #expect(outcome.signalled && outcome.status == SIGKILL, "\(outcome)")
        #expect(!exists(run + "/final.h5"), "final.h5 of the earlier run sits beside the metrics of the killed one")
        #expect(!exists(run + "/plots/loss.svg") && !exists(run + "/plots/error.svg"), "plots of the earlier run left behind")
        #expect(try !readText(status).contains("finished"))
        #expect(try readText(run + "/job.toml").contains("epochs = 1000000\n"))
    }

    /// Where OpenBLAS took this CPU for an older one, descent ran itself again with OPENBLAS_CORETYPE set
    /// (Tensor/BLASKernels.swift); the programs it starts must not inherit that choice: sbatch passes its
    /// environment to the job, which may run on nodes of another CPU. A stand-in squeue records what it is given.
    /// (Where OpenBLAS knows the CPU, or OPENBLAS_CORETYPE is set, nothing is chosen and there is nothing to check.)
    @Test("the programs descent starts are not handed its OpenBLAS kernel choice")
    func kernelChoiceNotInherited() async throws {
        let scratch = try Scratch()
        let bin = try scratch.directory("bin"), environmentFile = scratch.file("squeue-environment")
        try "#!/bin/sh\nenv > '\(environmentFile)'\necho RUNNING\n".write(toFile: bin + "/squeue", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/squeue")
        try FileManager.default.createDirectory(atPath: scratch.file("run/slurm"), withIntermediateDirectories: true)
        try "{\"status\": \"running\"}\n".write(toFile: scratch.file("run/status.json"), atomically: true, encoding: .utf8)
        try "42\n".write(toFile: scratch.file("run/slurm/job-id"), atomically: true, encoding: .utf8)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let outcome = try await descent(["status", "run"], in: scratch.path, environment: ["PATH": path])
        #expect(outcome.succeeded && outcome.stdoutLines.first == "run: running, Slurm job 42", "\(outcome)")
        let handed = try readText(environmentFile).split(separator: "\n")
        let inherited = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "OPENBLAS_CORETYPE=" + $0 }
        #expect(!handed.contains { $0.hasPrefix("OPENBLAS_CORETYPE=") && String($0) != inherited }
                && !handed.contains { $0.hasPrefix("DESCENT_OPENBLAS_FALLBACK=") }, "\(handed.filter { $0.contains("OPENBLAS") })")
    }
}
