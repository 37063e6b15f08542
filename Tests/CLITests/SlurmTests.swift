// SlurmTests.swift — `descent submit` and `descent status` against a real Slurm cluster on this machine
// (slurm/cluster.sh; scripts/test starts a 2-node cluster and sets DESCENT_REQUIRE_SLURM=1, which turns a missing
// cluster into a failure instead of a skip). Jobs train on real Fashion-MNIST subsets.
import Checkpoint
import Foundation
import Testing

private let fashionMNIST = "/usr/share/datasets/fashion-mnist"

/// Runs a shell command; its status and output.
@discardableResult
private func shell(_ command: String) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try? p.runHoldingHDF5Lock()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

private let clusterUp = shell("sinfo -h -o %T 2>/dev/null | grep -q idle").status == 0
private let slurmRequired = ProcessInfo.processInfo.environment["DESCENT_REQUIRE_SLURM"] == "1"

/// A small job on 2 nodes × 2 tasks: `epochs` epochs of a 4,000-image subset, a checkpoint every 5 steps.
private func slurmJob(_ scratch: Scratch, name: String, epochs: Int = 2, data: String = fashionMNIST) throws -> String {
    let path = scratch.file(name + ".toml")
    try jobText([
        ("run", ["name = \"\(name)\"", "epochs = \(epochs)", "seed = 2", "output = \"\(scratch.file("runs"))\""]),
        ("data", ["set = \"fashion-mnist\"", "path = \"\(data)\"", "subset = 4000", "test_subset = 1000"]),
        ("model", ["architecture = \"mlp\"", "hidden = [64]"]),
        ("optim", ["batch_size = 100", "lr = 0.05", "momentum = 0.9"]),
        ("checkpoint", ["every = \"5 steps\""]),
        ("slurm", ["nodes = 2", "ntasks_per_node = 2", "time = \"00:10:00\""]),
    ]).write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Waits until `condition` holds (polling every 0.2 s), at most `seconds`.
private func waitFor(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return condition()
}

private func jobID(_ run: String) throws -> String { try readText(run + "/slurm/job-id").trimmingCharacters(in: .whitespacesAndNewlines) }
private func inQueue(_ id: String) -> Bool { !shell("squeue -h -j \(id) 2>/dev/null").output.isEmpty }
private func finished(_ run: String) -> Bool { ((try? readText(run + "/status.json")) ?? "").contains("\"finished\"") }

@Suite("descent submit without a cluster")
struct SubmitScriptTests {
    @Test("--dry-run prints the batch script: resources, the signal, requeue, append, the log under the run directory")
    func dryRun() async throws {
        let scratch = try Scratch()
        let job = try slurmJob(scratch, name: "dry")
        for launcher in ["srun", "mpirun"] {
            let outcome = try await descent(["submit", job, "--launcher", launcher, "--cpus-per-task", "2", "--time", "00:30:00",
                                             "--signal", "60", "--partition", "debug", "--dry-run"], in: scratch.path)
            #expect(outcome.succeeded, "\(outcome)")
            for line in ["#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=2", "#SBATCH --cpus-per-task=2", "#SBATCH --time=00:30:00",
                         "#SBATCH --signal=B:USR1@60", "#SBATCH --requeue", "#SBATCH --open-mode=append", "#SBATCH --partition=debug",
                         "#SBATCH --output=\(scratch.file("runs"))/dry/slurm/slurm-%j.out", "OPENBLAS_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"",
                         "trap '' TERM", "scontrol requeue", "-lt 3 ]"] {
                #expect(outcome.stdout.contains(line), "\(launcher): missing \(line)")
            }
            #expect(outcome.stdout.contains(launcher == "srun" ? "srun --mpi=pmix '" : "mpirun '"))
            #expect(outcome.stdout.contains("export SLURM_PMIX_FENCE=\"${SLURM_PMIX_FENCE:-ring}\"") == (launcher == "srun"))
            #expect(!outcome.stdout.contains("{{"))
        }
        #expect(!exists(scratch.file("runs")), "a dry run writes nothing")
    }

    @Test("the script's ending, run by bash with stand-ins for srun and scontrol: requeue on exit 75 while requeues remain, a failure is not requeued, a rank killed by a signal is named",
          arguments: [("75", "0"), ("75", "3"), ("1", "0"), ("segv", "0")])
    func scriptEnding(launcherExit: String, restarts: String) async throws {
        let scratch = try Scratch()
        let outcome = try await descent(["submit", try slurmJob(scratch, name: "ending"), "--dry-run"], in: scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        try outcome.stdout.write(toFile: scratch.file("job.sbatch"), atomically: true, encoding: .utf8)
        let bin = scratch.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let standIns = [
            "srun": "ulimit -c 0; if [ \"$LAUNCHER_EXIT\" = segv ]; then kill -SEGV $$; fi; exit \"$LAUNCHER_EXIT\"",
            "scontrol": "echo \"$*\" >> \(scratch.file("scontrol-calls"))",
        ]
        for (name, body) in standIns {
            try "#!/bin/bash\n\(body)\n".write(toFile: bin + "/" + name, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/" + name)
        }
        let run = shell("cd \(scratch.path) && PATH=\(bin):$PATH LAUNCHER_EXIT=\(launcherExit) SLURM_JOB_ID=42 "
                        + "SLURM_RESTART_COUNT=\(restarts) bash job.sbatch")
        let calls = (try? readText(scratch.file("scontrol-calls"))) ?? ""
        switch (launcherExit, restarts) {
        case ("75", "0"):
            #expect(run.status == 75 && run.output.contains("requeued (restart 1 of at most 3)"), "\(run)")
            #expect(calls == "requeue 42\n", "\(calls)")
        case ("75", _):
            #expect(run.status == 75 && run.output.contains("not requeued: 3 requeue(s) already"), "\(run)")
            #expect(calls.isEmpty, "\(calls)")
        case ("1", _):
            #expect(run.status == 1 && run.output.contains("the ranks ended with status 1 at"), "\(run)")
            #expect(!run.output.contains("requeued") && !run.output.contains("killed by signal") && calls.isEmpty, "\(run)")
        default:
            #expect(run.status == 139 && run.output.contains("the ranks ended with status 139")
                    && run.output.contains("a rank was killed by signal 11 (SIGSEGV); its backtrace"), "\(run)")
            #expect(calls.isEmpty, "\(calls)")
        }
    }

    @Test("bad input: one line each, nothing submitted", arguments: ["no slurm", "placeholder", "too many nodes", "bad job"])
    func badInput(kind: String) async throws {
        let scratch = try Scratch()
        let job = try slurmJob(scratch, name: "bad")
        var arguments = ["submit", job]
        var environment: [String: String] = [:]
        var expected = ""
        switch kind {
        case "no slurm":
            environment["PATH"] = scratch.path   // no sbatch, no sinfo
            expected = "sinfo not found: Slurm is not installed here"
        case "placeholder":
            let template = scratch.file("custom.sbatch")
            try "#!/bin/bash\n#SBATCH --nodes={{nodes}}\n#SBATCH --qos={{qos}}\n".write(toFile: template, atomically: true, encoding: .utf8)
            arguments += ["--template", template]
            expected = "\(template): template placeholder {{qos}} cannot be filled"
        case "too many nodes":
            guard clusterUp else { return }
            arguments += ["--nodes", "64"]
            expected = "64 nodes requested but partition (default) has"
        default:
            arguments += ["--set", "slurm.nodes=0"]
            expected = "'slurm.nodes' must be"
        }
        let outcome = try await descent(arguments, in: scratch.path, environment: environment)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderrLines.count == 1 && outcome.stderrLines[0].contains(expected), "\(outcome)")
        #expect(!exists(scratch.file("runs/bad/slurm/job-id")), "nothing submitted")
    }
}

@Suite("descent on a real Slurm cluster", .serialized, .enabled(if: clusterUp || slurmRequired))
struct SlurmClusterTests {
    init() throws { try #require(clusterUp, "no Slurm cluster is running (slurm/cluster.sh start)") }

    @Test("2 nodes × 2 tasks with srun --mpi=pmix and with mpirun inside sbatch: trained to the end, metrics and checkpoint")
    func bothLaunchers() async throws {
        let scratch = try Scratch()
        for launcher in ["srun", "mpirun"] {
            let job = try slurmJob(scratch, name: launcher)
            let outcome = try await descent(["submit", job, "--launcher", launcher], in: scratch.path)
            try #require(outcome.succeeded, "\(outcome)")
            #expect(outcome.stdoutLines.first?.hasPrefix("submitted job ") == true, "\(outcome)")
        }
        for launcher in ["srun", "mpirun"] {
            let run = scratch.file("runs/\(launcher)")
            let id = try jobID(run)
            #expect(try await waitFor(120) { finished(run) && !inQueue(id) }, "\(launcher): \(shell("cat \(run)/slurm/slurm-*.out").output)")
            let log = try readText(run + "/slurm/slurm-\(id).out")
            #expect(log.contains("ranks          4 (2 on this node)"), "\(launcher): \(log)")
            #expect(!log.contains("PMIx fence"), "\(launcher): the script sets the ring fence: \(log)")
            #expect(try MetricsFile(run + "/metrics.csv").rows.count == 2)
            let checkpoint = try CheckpointFile.read(run + "/checkpoints/step-80.h5")
            #expect(checkpoint.state.worldSize == 4 && checkpoint.state.epoch == 2)
            let status = try await descent(["status", run], in: scratch.path)
            #expect(status.stdoutLines.first == "\(run): finished, Slurm job \(id)", "\(status)")
        }
    }

    @Test("the PMIx fence the srun script exports (ring) makes MPI_Init a barrier across nodes: a rank held inside it for 3 s, the others wait")
    func ringFenceIsABarrier() {
        let (status, output) = shell("\(packageRoot)/slurm/init-barrier-check.sh ring 2>&1")
        #expect(status == 0 && output.contains("fence ring: rank 0 left MPI_Init") && output.contains("— a barrier"), "\(output)")
    }

    @Test("USR1 to a running job: it checkpoints, requeues, resumes, and ends with the uninterrupted run's parameters")
    func preemption() async throws {
        let scratch = try Scratch()
        for name in ["whole", "preempted"] {
            let outcome = try await descent(["submit", try slurmJob(scratch, name: name, epochs: 3)], in: scratch.path)
            try #require(outcome.succeeded, "\(outcome)")
        }
        let (whole, preempted) = (scratch.file("runs/whole"), scratch.file("runs/preempted"))
        let id = try jobID(preempted)
        // Once it trains (a first checkpoint exists), the warning Slurm would send before the time limit.
        #expect(try await waitFor(120) { !checkpointFiles(preempted).isEmpty })
        #expect(shell("scancel --batch --signal=USR1 \(id)").status == 0)
        #expect(try await waitFor(150) { finished(preempted) && !inQueue(id) && finished(whole) },
                "\(shell("cat \(preempted)/slurm/slurm-*.out \(whole)/slurm/slurm-*.out").output)")
        let log = try readText(preempted + "/slurm/slurm-\(id).out")
        #expect(log.contains("the ranks ended with status 75") && log.contains("requeued (restart 1 of at most 3)")
                && log.contains("(restart 1)") && log.contains("resuming from"), "\(log)")
        let (a, b) = (try CheckpointFile.read(whole + "/final.h5"), try CheckpointFile.read(preempted + "/final.h5"))
        #expect(a.parameters == b.parameters && a.momentum == b.momentum)
        #expect(b.state.requeueCount == 1)
        let status = try await descent(["status", preempted], in: scratch.path)
        #expect(status.stdoutLines.first == "\(preempted): finished, requeued 1 time(s), Slurm job \(id)", "\(status)")
    }

    @Test("a job that fails for another reason (its data is missing) fails once and is not requeued")
    func failureIsNotRequeued() async throws {
        let scratch = try Scratch()
        let job = try slurmJob(scratch, name: "broken", data: scratch.file("no-such-data"))
        let outcome = try await descent(["submit", job], in: scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        let run = scratch.file("runs/broken")
        let id = try jobID(run)
        #expect(try await waitFor(90) { !inQueue(id) })
        let log = try readText(run + "/slurm/slurm-\(id).out")
        #expect(log.contains("no-such-data") && log.contains("the ranks ended with status 1") && !log.contains("requeued"), "\(log)")
        let show = shell("scontrol show job \(id)").output
        #expect(show.contains("JobState=FAILED") && show.contains("Restarts=0"), "\(show)")
    }

    @Test("srun without PMIx: one line with the HINT, instead of two 1-rank copies of the run")
    func srunWithoutPMIx() async throws {
        let scratch = try Scratch()
        let job = try slurmJob(scratch, name: "nopmix")
        let binary = try DescentBinary.require()
        let (status, output) = shell("cd \(scratch.path) && srun -N 1 -n 2 --mpi=none \(binary) train \(job) 2>&1")
        #expect(status != 0)
        let ours = output.split(separator: "\n").filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains("HINT: srun --mpi=pmix"), "\(output)")
        #expect(!exists(scratch.file("runs/nopmix")))
    }

    @Test("a 4-task job array: each task trains its own run (name-i, seed + i) to the end")
    func array() async throws {
        let scratch = try Scratch()
        let job = scratch.file("array.toml")
        try jobText([
            ("run", ["name = \"sweep\"", "epochs = 1", "output = \"\(scratch.file("runs"))\""]),
            ("data", ["subset = 1000", "test_subset = 200"]),
            ("model", ["hidden = [16]"]),
            ("slurm", ["nodes = 1", "ntasks_per_node = 1"]),
        ]).write(toFile: job, atomically: true, encoding: .utf8)
        let outcome = try await descent(["submit", job, "--array", "4"], in: scratch.path)
        try #require(outcome.succeeded, "\(outcome)")
        let id = try jobID(scratch.file("runs/sweep"))
        #expect(try await waitFor(120) { (0..<4).allSatisfy { finished(scratch.file("runs/sweep-\($0)")) } && !inQueue(id) })
        var seeds: Set<String> = []
        for i in 0..<4 {
            let effective = try readText(scratch.file("runs/sweep-\(i)/job.toml"))
            seeds.insert(effective.split(separator: "\n").first { $0.hasPrefix("seed = ") }.map(String.init) ?? "")
            #expect(exists(scratch.file("runs/sweep/slurm/slurm-\(id)_\(i).out")))
        }
        #expect(seeds == ["seed = 0", "seed = 1", "seed = 2", "seed = 3"])
    }
}

/// The checkpoint files of a run (names only).
private func checkpointFiles(_ run: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []).filter { $0.hasPrefix("step-") }
}
