// MPITests.swift — `descent train` under `mpirun -np P` on real Fashion-MNIST: the same job on 1, 2, 3 and 4 ranks
// (4 oversubscribed on 2 cores) ends with the same parameters as the 1-rank run; every rank holds bitwise
// identical parameters after every step (--check-sync 1, itself shown to catch a rank that drifts); a rank that
// fails mid-run ends the whole job quickly with its message and leaves no process behind, while a loss that is
// not finite fails every rank alike without aborting; with synchronised BatchNorm a model with BatchNorm trains
// the same on any rank count, and with per-rank statistics its checkpoints inside an epoch are valid.
//
// Tolerance for P ranks against 1 rank: the global batch is the same and each rank's loss is scaled by
// 1/global batch, so the only difference is the order in which float32 gradient contributions are summed (per
// rank, then across ranks). One step's gradient then differs by a few ulps (relative ~1e-7); over the 24 steps
// here SGD carries such differences along without amplifying them much: the largest difference measured was
// 3.0e-7 (2.5 ulps near 1) for 2, 3 and 4 ranks and every reduction, with max|p| = 0.83 (shared computes the
// first layer's gradient over the node's batch in one GEMM, another summation order). We require
// max|p_P − p_1| ≤ 1e-5 · max|p_1| (≈ 8e-6, nearly thirty times the measured drift), while a real reduction bug
// moves parameters by lr·|g| or more: scaling each rank's loss by its local instead of the global batch gave
// 0.48, and the node's gradient over rank 0's samples alone 0.31.
import Checkpoint
import Foundation
import Testing

private let fashionMNIST = "/usr/share/datasets/fashion-mnist"

/// A small job on the real data: 600 training samples, global batch 50 (which 3 and 4 ranks split unevenly),
/// an MLP without BatchNorm (per-rank statistics would differ from one rank's by design).
private func distributedJob(output: String, name: String, reduction: String) -> String {
    jobText([
        ("run", ["name = \"\(name)\"", "epochs = 2", "seed = 3", "output = \"\(output)\"",
                 "gradient_reduction = \"\(reduction)\""]),
        ("data", ["set = \"fashion-mnist\"", "path = \"\(fashionMNIST)\"", "subset = 600", "test_subset = 500"]),
        ("model", ["architecture = \"mlp\"", "hidden = [32]", "dropout = 0.1"]),
        ("optim", ["batch_size = 50", "lr = 0.05", "momentum = 0.9", "nesterov = true", "l2 = 0.0005"]),
    ])
}

private func mpirun(_ ranks: Int) -> [String] { ["mpirun", "-np", "\(ranks)", "--oversubscribe"] }

/// Processes still running the binary under test on `job` (there must be none once the job has ended). Other
/// suites run `descent train` at the same time, so the job file's unique path is part of the pattern.
private func leftoverProcesses(_ binary: String, job: String) -> [String] {
    let ps = Process()
    ps.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
    ps.arguments = ["-f", binary + " train " + job]
    let pipe = Pipe()
    ps.standardOutput = pipe
    try? ps.runHoldingHDF5Lock()
    ps.waitUntilExit()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return text.split(separator: "\n").map(String.init)
}

@Suite("descent train under mpirun", .serialized, .enabled(if: FileManager.default.fileExists(atPath: fashionMNIST)))
struct MPITests {
    /// "shared-nodes" is `shared` with the ranks grouped as if on several nodes (DESCENT_RANKS_PER_NODE): 2 and 3
    /// ranks as one rank per node, 4 ranks as 2 nodes × 2, so that the sum across nodes runs too, overlapped
    /// with backward layer by layer (DESCENT_BUCKET_FLOATS=1: one bucket per layer).
    @Test("1, 2, 3 and 4 ranks end with the same parameters; every rank identical after every step",
          arguments: ["allreduce", "sharded", "shared", "shared-nodes"])
    func sameParametersOnAnyRankCount(reduction: String) async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        var finals: [Int: [Float]] = [:]
        let strategy = reduction == "shared-nodes" ? "shared" : reduction
        for ranks in 1...4 {
            let name = "p\(ranks)"
            try distributedJob(output: scratch.path, name: name, reduction: strategy).write(toFile: jobPath, atomically: true, encoding: .utf8)
            // Buckets of 1 float: each layer's allreduce across nodes starts as backward finishes it.
            let nodes = reduction == "shared-nodes" ? ["DESCENT_RANKS_PER_NODE": ranks == 4 ? "2" : "1", "DESCENT_BUCKET_FLOATS": "1"] : [:]
            // shared on one node: the ranks read one copy of the parameters, so --check-sync could not fail, and
            // its fence after every step would hide the publication the step leaves to the next forward
            // (NodeSplitDense.forwardPublishes), which this run must exercise.
            let check = reduction == "shared" ? [] : ["--check-sync", "1"]
            let outcome = try await descent(["train", jobPath] + check + ["--quiet"], in: scratch.path,
                                            timeLimit: 120, launcher: ranks == 1 ? [] : mpirun(ranks), environment: nodes)
            try #require(outcome.succeeded, "\(outcome)")
            #expect(outcome.stdout.contains("ranks          \(ranks) "), "start-up table: \(outcome.stdout)")
            if ranks > 1 { #expect(outcome.stdout.contains("gradients \(strategy)"), "start-up table: \(outcome.stdout)") }
            // shared, several ranks on a node: the first layer (784 × 32 weights, more than a rank's x and dy) is
            // computed by the node as one, each rank its units (NodeSplitDense).
            if ranks > 1 && (reduction == "shared" || (reduction == "shared-nodes" && ranks == 4)) {
                #expect(outcome.stdout.contains("(fc1 split by units across the node)"), "start-up table: \(outcome.stdout)")
            }
            finals[ranks] = try CheckpointFile.read(scratch.file("\(name)/final.h5")).parameters
        }
        let one: [Float] = finals[1] ?? []
        let scale: Float = one.map(abs).max() ?? 0
        for ranks in 2...4 {
            let p: [Float] = finals[ranks] ?? []
            #expect(p.count == one.count)
            let worst: Float = zip(one, p).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5 * scale, "\(ranks) ranks (\(reduction)): max |Δp| = \(worst), max |p| = \(scale)")
        }
    }

    /// run.sync_batchnorm: BatchNorm's statistics are summed over the ranks, so P ranks compute what 1 rank does,
    /// up to the summation order (the tolerance above). 601 samples in batches of 50 leave a last batch of 1
    /// sample, so on 2, 3 and 4 ranks some ranks have no sample in that step and must still take part in the
    /// sums. The model is smooth (tanh, average pooling): a ReLU right after BatchNorm sees many values near 0,
    /// where a last-ulp difference flips the unit and SGD then carries the flip along (a ReLU CNN at lr 0.05 did
    /// so at step 7 of 13 and ended 2e-3 apart). Measured with this model: 1.3e-7 to 3.8e-7 for 2-4 ranks and
    /// 601, 626 or 651 samples, with max|p| ≈ 1.9. Without the option (per-rank statistics) 2 ranks differ by
    /// far more.
    @Test("with run.sync_batchnorm a model with BatchNorm ends with the same parameters on 1, 2, 3 and 4 ranks; without it, not")
    func synchronisedBatchNorm() async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        func job(_ name: String, sync: Bool) -> String {
            jobText([
                ("run", ["name = \"\(name)\"", "epochs = 2", "seed = 3", "output = \"\(scratch.path)\"",
                         "sync_batchnorm = \(sync)"]),
                ("data", ["set = \"fashion-mnist\"", "path = \"\(fashionMNIST)\"", "subset = 601", "test_subset = 500"]),
                ("model", ["architecture = \"layers\"",
                           "layers = [{ type = \"conv2d\", out = 4, kernel = 3 }, { type = \"batchnorm\" }, { type = \"tanh\" }, "
                           + "{ type = \"avgpool\", kernel = 2 }, { type = \"flatten\" }, { type = \"dense\", out = 32 }, "
                           + "{ type = \"batchnorm\" }, { type = \"tanh\" }, { type = \"dense\", out = 10 }]"]),
                ("optim", ["batch_size = 50", "lr = 0.05", "momentum = 0.9"]),
            ])
        }
        func train(_ name: String, ranks: Int, sync: Bool) async throws -> [Float] {
            try job(name, sync: sync).write(toFile: jobPath, atomically: true, encoding: .utf8)
            let outcome = try await descent(["train", jobPath, "--check-sync", "1", "--quiet"], in: scratch.path,
                                            timeLimit: 120, launcher: ranks == 1 ? [] : mpirun(ranks))
            try #require(outcome.succeeded, "\(outcome)")
            if ranks > 1 {
                #expect(outcome.stdout.contains("BatchNorm statistics synchronised") == sync, "start-up table: \(outcome.stdout)")
            }
            return try CheckpointFile.read(scratch.file("\(name)/final.h5")).parameters
        }
        let one = try await train("p1", ranks: 1, sync: true)
        let scale: Float = one.map(abs).max() ?? 0
        func worst(_ p: [Float]) -> Float { p.count == one.count ? zip(one, p).map { abs($0 - $1) }.max() ?? 0 : .infinity }
        for ranks in 2...4 {
            let p = try await train("p\(ranks)", ranks: ranks, sync: true)
            #expect(worst(p) <= 1e-5 * scale, "\(ranks) ranks, synchronised: max |Δp| = \(worst(p)), max |p| = \(scale)")
        }
        let perRank = try await train("own2", ranks: 2, sync: false)
        #expect(worst(perRank) > 100 * 1e-5 * scale, "2 ranks, per-rank statistics: max |Δp| = \(worst(perRank))")
    }

    /// `sharded`: with `shared` the ranks of a node hold one copy of the parameters, so they cannot drift apart.
    @Test("--check-sync stops a job whose ranks drift apart")
    func checkSyncCatchesDrift() async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        try distributedJob(output: scratch.path, name: "drift", reduction: "sharded").write(toFile: jobPath, atomically: true, encoding: .utf8)
        let outcome = try await descent(["train", jobPath, "--check-sync", "1"], in: scratch.path, timeLimit: 60,
                                        launcher: mpirun(2), environment: ["DESCENT_FAULT": "desync:1:4"])
        #expect(!outcome.succeeded)
        #expect(outcome.stderr.contains("parameters differ between ranks after global step 5"), "\(outcome)")
        #expect(!exists(scratch.file("drift/final.h5")))
    }

    @Test("a rank that fails mid-run ends the job within 10 s with its message; no process is left",
          arguments: [(2, 1), (3, 2), (3, 0)])
    func failingRankAbortsTheJob(ranks: Int, failing: Int) async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        try distributedJob(output: scratch.path, name: "fail", reduction: "sharded").write(toFile: jobPath, atomically: true, encoding: .utf8)
        let start = Date()
        let outcome = try await descent(["train", jobPath, "--quiet"], in: scratch.path, timeLimit: 30,
                                        launcher: mpirun(ranks), environment: ["DESCENT_FAULT": "fail:\(failing):7"])
        let seconds = Date().timeIntervalSince(start)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
        #expect(seconds < 10, "the job took \(seconds) s to end")
        #expect(outcome.stderr.contains("descent: rank \(failing): injected fault at step 7"), "\(outcome)")
        let status = try readText(scratch.file("fail/status.json"))
        #expect(status.contains("\"failed\"") && status.contains("rank \(failing)"), "status.json: \(status)")
        #expect(!exists(scratch.file("fail/final.h5")))
        try await Task.sleep(for: .milliseconds(300))
        #expect(leftoverProcesses(try DescentBinary.require(), job: jobPath).isEmpty, "processes left behind")
    }

    /// "shared-nodes": the 2-rank run is `shared` as if on 2 nodes, where only the first node's rank writes
    /// the checkpoint's momentum; the resumed runs are `shared` on one node.
    @Test("a 2-rank checkpoint resumed on 1 and on 3 ranks reaches the same test accuracy",
          arguments: ["sharded", "shared-nodes"])
    func resumeOnOtherRankCounts(reduction: String) async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        let text = distributedJob(output: scratch.path, name: "two", reduction: reduction == "sharded" ? "sharded" : "shared")
            + "\n[checkpoint]\nevery = \"4 steps\"\nkeep = 20\n"
        try text.write(toFile: jobPath, atomically: true, encoding: .utf8)
        let nodes = reduction == "shared-nodes" ? ["DESCENT_RANKS_PER_NODE": "1"] : [:]
        let two = try await descent(["train", jobPath, "--quiet"], in: scratch.path, timeLimit: 120, launcher: mpirun(2),
                                    environment: nodes)
        try #require(two.succeeded, "\(two)")
        let reference = try MetricsFile(scratch.file("two/metrics.csv")).column("test_error").last
        // Step 16 of 24 is in the second epoch: the resumed runs continue mid-epoch, on other shards.
        for ranks in [1, 3] {
            let outcome = try await descent(["train", jobPath, "--quiet", "--set", "run.name=r\(ranks)", "--resume",
                                              scratch.file("two/checkpoints/step-16.h5")],
                                             in: scratch.path, timeLimit: 120, launcher: ranks == 1 ? [] : mpirun(ranks))
            try #require(outcome.succeeded, "\(outcome)")
            #expect(outcome.stdout.contains("written by 2 rank(s)"), "\(outcome)")
            let resumed = try MetricsFile(scratch.file("r\(ranks)/metrics.csv")).column("test_error").last
            // Only the summation order differs (max |Δp| ~1e-7): the test error must agree to within one of the 500
            // test samples (0.002); measured: identical.
            let (a, b) = (Double(reference ?? "") ?? .nan, Double(resumed ?? "") ?? -1)
            #expect(abs(a - b) <= 0.002, "\(ranks) ranks: test error \(b), the 2-rank run's \(a)")
        }
    }

    @Test("a training loss that is not finite fails every rank alike: one line naming the rank, exit 1, no abort")
    func nonFiniteLossFailsEveryRank() async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        try distributedJob(output: scratch.path, name: "nan", reduction: "shared").replacingOccurrences(of: "lr = 0.05", with: "lr = 1e30")
            .write(toFile: jobPath, atomically: true, encoding: .utf8)
        let outcome = try await descent(["train", jobPath, "--quiet"], in: scratch.path, timeLimit: 60, launcher: mpirun(2))
        #expect(outcome.status == 1 && !outcome.signalled, "\(outcome)")
        let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains(": rank ") && ours[0].contains("the training loss is"), "\(outcome)")
        #expect(!outcome.stderr.contains("MPI_ABORT"), "the job was aborted instead of ending cleanly: \(outcome)")
        let status = try readText(scratch.file("nan/status.json"))
        #expect(status.contains("\"failed\"") && status.contains("the training loss is"), "status.json: \(status)")
        #expect(!exists(scratch.file("nan/final.h5")))
        let shown = try await descent(["status", scratch.file("nan")], in: scratch.path)
        #expect(shown.status == 1 && shown.stdout.contains(": failed"), "descent status of a failed run: \(shown)")
    }

    /// Per-rank BatchNorm statistics (run.sync_batchnorm = false) differ between the ranks inside an epoch.
    @Test("per-rank BatchNorm: every checkpoint inside an epoch validates; a rank left without samples does not dilute the statistics")
    func perRankBatchNormCheckpointsAndIdleRanks() async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        try jobText([
            ("run", ["name = \"bn\"", "epochs = 2", "seed = 1", "output = \"\(scratch.path)\""]),
            ("data", ["set = \"fashion-mnist\"", "path = \"\(fashionMNIST)\"", "subset = 256", "test_subset = 64"]),
            ("model", ["architecture = \"cnn\"", "width = 4", "batchnorm = true"]),
            ("optim", ["batch_size = 32", "lr = 0.05", "momentum = 0.9"]),
            ("checkpoint", ["every = \"3 steps\"", "keep = 20"]),
        ]).write(toFile: jobPath, atomically: true, encoding: .utf8)
        let two = try await descent(["train", jobPath, "--quiet"], in: scratch.path, timeLimit: 120, launcher: mpirun(2))
        try #require(two.succeeded, "\(two)")
        for step in [3, 6, 9, 12, 15] {   // 8 steps per epoch: all but 9 are inside an epoch
            #expect(throws: Never.self, "step-\(step).h5") { try CheckpointFile.read(scratch.file("bn/checkpoints/step-\(step).h5")) }
        }
        // Batch 1 on 2 ranks: rank 1 never has a sample. The test loss must be the 1-rank run's (measured: equal
        // to 2e-9; with rank 1's initial statistics averaged in, 0.04 apart).
        var losses: [Double] = []
        for ranks in [1, 2] {
            let outcome = try await descent(["train", jobPath, "--quiet", "--set", "run.name=b\(ranks)", "--set", "optim.batch_size=1",
                                              "--set", "data.subset=64", "--set", "optim.lr=0.01", "--set", "optim.momentum=0.0"],
                                             in: scratch.path, timeLimit: 120, launcher: ranks == 1 ? [] : mpirun(ranks))
            try #require(outcome.succeeded, "\(outcome)")
            losses.append(Double(try MetricsFile(scratch.file("b\(ranks)/metrics.csv")).column("test_loss").last ?? "") ?? .nan)
        }
        #expect(abs(losses[0] - losses[1]) <= 1e-5 * abs(losses[0]), "test loss on 1 rank \(losses[0]), on 2 ranks \(losses[1])")
    }

    @Test("a data file missing on every rank: one line, exit 1, no run directory")
    func missingDataOnEveryRank() async throws {
        let scratch = try Scratch()
        let jobPath = scratch.file("job.toml")
        let text = distributedJob(output: scratch.path, name: "nodata", reduction: "auto")
            .replacingOccurrences(of: fashionMNIST, with: scratch.file("absent"))
        try text.write(toFile: jobPath, atomically: true, encoding: .utf8)
        let outcome = try await descent(["train", jobPath], in: scratch.path, timeLimit: 30, launcher: mpirun(3))
        #expect(outcome.status != 0)
        let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains(scratch.file("absent")), "\(outcome)")
        #expect(!exists(scratch.file("nodata")))
    }

    /// data.path is relative to the current directory, and each rank runs in its own: only rank 0's holds the
    /// data (as a data set on a node's local disk that another node lacks).
    @Test("a data directory present for some ranks only: one line naming the rank and the path, exit 1, no run directory")
    func dataOnSomeRanksOnly() async throws {
        let scratch = try Scratch()
        let job = distributedJob(output: scratch.path, name: "partial", reduction: "auto")
            .replacingOccurrences(of: "path = \"\(fashionMNIST)\"", with: "path = \"fm\"")
        try job.write(toFile: scratch.file("job.toml"), atomically: true, encoding: .utf8)
        for rank in 0..<3 { _ = try scratch.directory("rank\(rank)") }
        try FileManager.default.createSymbolicLink(atPath: scratch.file("rank0/fm"), withDestinationPath: fashionMNIST)
        // bash -c SCRIPT BINARY train JOB: each rank works in rankR/.
        let perRank = mpirun(3) + ["bash", "-c", #"cd "rank$OMPI_COMM_WORLD_RANK" && exec "$0" "$@""#]
        let outcome = try await descent(["train", scratch.file("job.toml")], in: scratch.path, timeLimit: 30, launcher: perRank)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
        let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].hasPrefix("descent: rank 1: ") && ours[0].contains(scratch.file("rank1")), "\(outcome)")
        #expect(!exists(scratch.file("partial")))
    }

    /// Each rank trains the job file named for its rank (job-RANK.toml): rank 2's has another hidden width.
    @Test("different job files on different ranks: one line naming the key, exit 1, no run directory, no hang")
    func differentJobsOnRanks() async throws {
        let scratch = try Scratch()
        let job = distributedJob(output: scratch.path, name: "mixed", reduction: "auto")
        for rank in 0..<3 {
            try (rank == 2 ? job.replacingOccurrences(of: "hidden = [32]", with: "hidden = [16]") : job)
                .write(toFile: scratch.file("job-\(rank).toml"), atomically: true, encoding: .utf8)
        }
        // bash -c SCRIPT BINARY train job-RANK.toml: each rank replaces RANK with its own.
        let perRank = mpirun(3) + ["bash", "-c", #"exec "$0" "$1" "${2/RANK/$OMPI_COMM_WORLD_RANK}""#]
        let outcome = try await descent(["train", scratch.file("job-RANK.toml")], in: scratch.path, timeLimit: 30, launcher: perRank)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome)")
        let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains("rank 2: \(scratch.file("job-2.toml"))")
                && ours[0].contains("model.hidden = [16] here, model.hidden = [32] on rank 0"), "\(outcome)")
        #expect(!exists(scratch.file("mixed")))
    }
}

@Suite("sharded reads under mpirun", .serialized)
struct ShardedReadTests {
    @Test("from a Descent sample file each rank reads from disk only the samples it trains on and evaluates")
    func eachRankReadsItsShare() async throws {
        let scratch = try Scratch()
        let idx = scratch.file("idx"), converted = scratch.file("h5"), logs = scratch.file("logs")
        try writeIDXDirectory(idx, train: learnableImages(count: 240), test: learnableImages(count: 60, seed: 2))
        let convert = try await descent(["data", "convert", "--set", "fashion-mnist", "--path", idx, "--out", converted], in: scratch.path)
        try #require(convert.succeeded, "\(convert)")
        let job = scratch.file("job.toml")
        try tinyJob(data: converted, output: scratch.path, epochs: 1).write(toFile: job, atomically: true, encoding: .utf8)
        let outcome = try await descent(["train", job, "--set", "data.set=hdf5", "--debug-log", logs, "--quiet"],
                                        in: scratch.path, timeLimit: 60, launcher: mpirun(2))
        try #require(outcome.succeeded, "\(outcome)")
        // 240 samples in global batches of 32 (the last of 16): each rank trains on 16 of each batch, 120 in all,
        // and evaluates 30 of the 60 test samples.
        for rank in 0..<2 {
            let log = try readText(logs + "/rank-\(rank).log")
            #expect(log.contains("rank \(rank) of 2"), "\(log)")
            #expect(log.contains("samples read from disk so far: train 120, test 30"), "rank \(rank): \(log)")
        }
    }
}
