// SweepTests.swift — `descent sweep` through the built executable: a sweep of 8 small runs on real Fashion-MNIST
// under mpirun -np 4 with groups of 1 and of 2 ranks, killed part-way and run again, ends with every run
// finished exactly once and one results row per run, and `descent report` draws it; the same sweep as a Slurm job
// array gives the same table; sweep-file errors and a results table edited into an invalid state are one line
// each, and nothing is lost; in groups of 2 ranks a diverging run fails alone, and a stop signal ends the sweep
// with exit 75 (for the Slurm requeue).
import Foundation
import Testing

private let fashionMNIST = "/usr/share/datasets/fashion-mnist"

/// 8 runs: widths 4, 8, 16, 32 × seeds 0, 1, on 2000 images for 12 epochs, the training set evaluated every
/// epoch (about a second per run: long enough to be killed part-way).
private func smallSweep(_ scratch: Scratch, ranksPerRun: Int, output: String) throws -> String {
    let base = scratch.file("base.toml"), sweep = scratch.file("small-\(ranksPerRun).toml")
    try jobText([
        ("run", ["epochs = 12"]),
        ("data", ["path = \"\(fashionMNIST)\"", "subset = 2000", "test_subset = 300"]),
        ("model", ["architecture = \"mlp\"", "hidden = [8]"]),
        ("eval", ["train = true"]),
        ("checkpoint", ["every = \"4 steps\""]),
        ("slurm", ["nodes = 1", "ntasks_per_node = \(ranksPerRun)"]),
    ]).write(toFile: base, atomically: true, encoding: .utf8)
    try """
    job = "base.toml"
    name = "small"
    output = "\(output)"
    ranks_per_run = \(ranksPerRun)
    [grid]
    "model.hidden" = { from = 4, to = 32, count = 4, scale = "log" }
    "run.seed" = [0, 1]
    """.write(toFile: sweep, atomically: true, encoding: .utf8)
    return sweep
}

private func resultRows(_ directory: String) throws -> [[String]] {
    try readText(directory + "/results.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}


@Suite("descent sweep", .serialized, .enabled(if: FileManager.default.fileExists(atPath: fashionMNIST)))
struct SweepTests {
    @Test("8 runs on 4 ranks in groups of 1 and of 2, killed part-way and rerun: every run once, one row each",
          arguments: [1, 2])
    func killedAndRerun(ranksPerRun: Int) async throws {
        let scratch = try Scratch()
        let sweep = try smallSweep(scratch, ranksPerRun: ranksPerRun, output: scratch.file("out"))
        let binary = try DescentBinary.require()
        // A watcher process (independent of the test's own scheduling, which other tests' blocking waits can
        // starve) kills every rank as soon as the first result is in: some runs done, some half-way, some not
        // started.
        let results = scratch.file("out/small/results.csv")
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/bash")
        watcher.arguments = ["-c", """
            for i in $(seq 1 3000); do
              [ "$(wc -l < '\(results)' 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.02
            done
            pkill -9 -f '^\(binary) sweep \(sweep)'
            """]
        try watcher.runHoldingHDF5Lock()
        let first = try await descent(["sweep", sweep], in: scratch.path, timeLimit: 120, launcher: ["mpirun", "-np", "4", "--oversubscribe"])
        watcher.terminate()
        #expect(!first.succeeded)
        try #require(FileManager.default.fileExists(atPath: results), "no run finished before the sweep stopped: \(first)")
        let partial = try resultRows(scratch.file("out/small")).count
        #expect(partial >= 1 && partial < 8, "killed after \(partial) of 8 runs")
        // status, on the sweep file: every run counted once; the runs killed part-way are named as killed.
        let killed = try await descent(["status", sweep], in: scratch.path)
        let counts = sweepCounts(killed.stdoutLines.first ?? "", of: scratch.file("out/small"), runs: 8, rows: partial)
        #expect(killed.succeeded && counts.values.reduce(0, +) == 8 && counts["finished", default: 0] >= partial
                && Set(counts.keys).isSubset(of: ["finished", "killed", "not started"]), "\(killed)")
        #expect(killed.stdoutLines.count == 1 + counts["killed", default: 0]
                && killed.stdoutLines.dropFirst().allSatisfy { $0.contains(": killed: status.json says running, but no process holds the run") }, "\(killed)")

        let second = try await descent(["sweep", sweep], in: scratch.path, timeLimit: 180, launcher: ["mpirun", "-np", "4", "--oversubscribe"])
        #expect(second.succeeded, "\(second)")
        let rows = try resultRows(scratch.file("out/small"))
        #expect(rows.count == 8 && Set(rows.map { $0[0] }).count == 8, "\(rows.map { $0[0] })")
        // Only the runs without a row trained again (a run killed after finishing but before its row gets its row
        // from its run directory without training).
        let summary = second.stdoutLines.last { $0.contains(" run(s) trained, ") }
        let trained = summary.flatMap { $0.split(separator: " ").dropFirst(2).first.flatMap { Int($0) } } ?? -1
        #expect(trained >= 1 && trained <= 8 - partial, "\(second)")
        // Each finished run's line says how many of the sweep's runs are done; the last one says all.
        let done = second.stdoutLines.filter { $0.hasPrefix("descent sweep: group ") }.compactMap { line in
            line.split(separator: "; ").last.flatMap { Int($0.split(separator: " ")[0]) }
        }
        #expect(done.count == trained && done.max() == 8 && done.allSatisfy { $0 > partial }, "\(second)")
        for row in rows {
            #expect(try readText(scratch.file("out/small/runs/\(row[0])/status.json")).contains("\"finished\""))
        }
        let finished = try await descent(["status", scratch.file("out/small")], in: scratch.path)
        #expect(finished.succeeded && finished.stdoutLines == ["\(scratch.file("out/small")): sweep of 8 runs with a directory: 8 finished; results.csv has 8 rows"], "\(finished)")
        // Run again: nothing left to do.
        let third = try await descent(["sweep", sweep], in: scratch.path, timeLimit: 60, launcher: ["mpirun", "-np", "2"])
        #expect(third.stdout.contains("0 run(s) trained, 0 failed, 8 already done"), "\(third)")
        #expect(try resultRows(scratch.file("out/small")).count == 8)
        if ranksPerRun == 1 { try await reportOf(scratch.file("out/small")) }
    }

    /// The counts of `descent status`'s first line for a sweep ("DIR: sweep of 8 runs: 3 finished, 2 killed, 3 not
    /// started; results.csv has 3 rows"), by state; empty when the line does not have that shape.
    private func sweepCounts(_ line: String, of directory: String, runs: Int, rows: Int) -> [String: Int] {
        let head = "\(directory): sweep of \(runs) runs: ", tail = "; results.csv has \(rows) row\(rows == 1 ? "" : "s")"
        guard line.hasPrefix(head), line.hasSuffix(tail) else { return [:] }
        var counts: [String: Int] = [:]
        for part in line.dropFirst(head.count).dropLast(tail.count).components(separatedBy: ", ") {
            let words = part.split(separator: " ", maxSplits: 1)
            guard words.count == 2, let n = Int(words[0]) else { return [:] }
            counts[String(words[1])] = n
        }
        return counts
    }

    /// `descent report` on the finished sweep: capacity.svg has the mean train and test error over the 2 seeds of
    /// each of the 4 widths, each with its range over the seeds shaded, and the n·K marker; results.md one row per
    /// run.
    private func reportOf(_ directory: String) async throws {
        let outcome = try await descent(["report", directory, "--threshold", "20000"], in: directory)
        try #require(outcome.succeeded, "\(outcome)")
        let svg = try readText(directory + "/capacity.svg")
        let lines = svg.components(separatedBy: "class=\"line\"").count - 1
        let bands = svg.components(separatedBy: "class=\"band\"").count - 1
        #expect(lines == 2 && bands == 2, "capacity.svg: \(lines) lines, \(bands) bands")
        #expect(svg.contains("test: mean, range shaded") && svg.contains("n·K = 20000"))
        let table = try readText(directory + "/results.md").split(separator: "\n")
        #expect(table.count == 3 + 8 && table.first == "# small", "results.md (title, header, rule, rows): \(table)")
    }

    @Test("groups of 2 ranks: a run whose loss diverges fails alone and the others train; a stop signal ends the sweep with exit 75")
    func divergingRunAndStopSignal() async throws {
        let scratch = try Scratch()
        try jobText([
            ("run", ["epochs = 2"]),
            ("data", ["path = \"\(fashionMNIST)\"", "subset = 1000", "test_subset = 200"]),
            ("model", ["architecture = \"mlp\"", "hidden = [16]"]),
            ("optim", ["batch_size = 50"]),
        ]).write(toFile: scratch.file("base.toml"), atomically: true, encoding: .utf8)
        func sweep(_ name: String, _ lines: String) throws -> String {
            let path = scratch.file(name + ".toml")
            try "job = \"base.toml\"\nname = \"\(name)\"\noutput = \"\(scratch.path)\"\norder = \"as_written\"\n\(lines)\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let diverging = try sweep("lr", "ranks_per_run = 2\n[grid]\n\"optim.lr\" = [0.01, 1e30, 0.02]")
        let first = try await descent(["sweep", diverging], in: scratch.path, timeLimit: 120, launcher: ["mpirun", "-np", "2"])
        #expect(first.status == 1 && !first.stderr.contains("MPI_ABORT"), "\(first)")
        #expect(first.stdout.contains("lr-1e+30 failed: rank ") && first.stdout.contains("2 run(s) trained, 1 failed, 0 already done"), "\(first)")
        #expect(Set(try resultRows(scratch.file("lr")).map { $0[0] }) == ["lr-0.01", "lr-0.02"])
        let status = try await descent(["status", diverging], in: scratch.path)
        #expect(status.status == 1 && status.stdoutLines.first == "\(scratch.file("lr")): sweep of 3 runs: 2 finished, 1 failed; results.csv has 2 rows"
                && status.stdoutLines.count == 2 && status.stdoutLines[1].hasPrefix("  lr-1e+30: failed — "), "\(status)")

        // Two long runs in groups of 1; once both have a checkpoint a watcher sends USR1 to every rank, as Slurm
        // signals every task before a time limit (a watcher process, as in killedAndRerun).
        let long = try sweep("long", "[set]\n\"run.epochs\" = 100000\n\"checkpoint.every\" = \"5 steps\"\n[grid]\n\"run.seed\" = [0, 1]")
        let binary = try DescentBinary.require()
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/bash")
        watcher.arguments = ["-c", """
            for i in $(seq 1 3000); do
              [ -e '\(scratch.file("long/runs/seed-0/checkpoints/latest"))' ] && [ -e '\(scratch.file("long/runs/seed-1/checkpoints/latest"))' ] && break
              sleep 0.02
            done
            pkill -USR1 -f '^\(binary) sweep \(long)'
            """]
        try watcher.runHoldingHDF5Lock()
        let stopped = try await descent(["sweep", long], in: scratch.path, timeLimit: 120, launcher: ["mpirun", "-np", "2"])
        watcher.terminate()
        #expect(stopped.status == 75 && !stopped.signalled, "\(stopped)")
        #expect(stopped.stdout.contains("0 run(s) trained, 0 failed, 2 stopped by a signal (rerun the sweep to continue), 0 already done"), "\(stopped)")
        for run in ["seed-0", "seed-1"] {
            #expect(try readText(scratch.file("long/runs/\(run)/status.json")).contains("\"stopped\""))
        }
        let stoppedStatus = try await descent(["status", scratch.file("long")], in: scratch.path)
        #expect(stoppedStatus.succeeded && stoppedStatus.stdoutLines.first == "\(scratch.file("long")): sweep of 2 runs with a directory: 2 stopped; results.csv has 0 rows", "\(stoppedStatus)")
    }

    @Test("the same sweep as a Slurm job array gives the same table", .enabled(if: SweepTests.clusterUp))
    func slurmArray() async throws {
        let scratch = try Scratch()
        let local = try smallSweep(scratch, ranksPerRun: 1, output: scratch.file("local"))
        let first = try await descent(["sweep", local], in: scratch.path, timeLimit: 120, launcher: ["mpirun", "-np", "2"])
        try #require(first.succeeded, "\(first)")
        let array = try smallSweep(scratch, ranksPerRun: 1, output: scratch.file("array"))
        let submitted = try await descent(["submit", array, "--max-parallel", "4"], in: scratch.path)
        try #require(submitted.succeeded, "\(submitted)")
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline, ((try? resultRows(scratch.file("array/small")))?.count ?? 0) < 8 { try await Task.sleep(for: .milliseconds(300)) }
        // The deterministic columns (all but the wall time) agree row by row.
        func table(_ dir: String) throws -> [String] { try resultRows(dir).map { ($0.prefix(10) + [$0[11]]).joined(separator: ",") }.sorted() }
        #expect(try table(scratch.file("array/small")) == table(scratch.file("local/small")))
    }

    @Test("sweep-file errors: one line naming the file", arguments: ["unknown key", "no job", "bad range", "bad grid key", "empty grid", "groups"])
    func badSweep(kind: String) async throws {
        let scratch = try Scratch()
        try jobText([("run", ["epochs = 1"])]).write(toFile: scratch.file("base.toml"), atomically: true, encoding: .utf8)
        var text = "job = \"base.toml\"\n[grid]\n\"run.seed\" = [0, 1]\n"
        var launcher: [String] = []
        var expected = ""
        switch kind {
        case "unknown key": text = "jobs = \"base.toml\"\n"; expected = "unknown key 'jobs'"
        case "no job": text = "[grid]\n\"run.seed\" = [0]\n"; expected = "'job' (the base job file) is missing"
        case "bad range": text = "job = \"base.toml\"\n[grid]\n\"model.hidden\" = { from = 0, to = 8, count = 3, scale = \"log\" }\n"; expected = "a log range needs from, to > 0"
        case "bad grid key": text = "job = \"base.toml\"\n[grid]\n\"optim.momentun\" = [0.9]\n"; expected = "did you mean 'optim.momentum'"
        case "empty grid": text = "job = \"base.toml\"\n[grid]\n"; expected = "the [grid] is empty"
        default: text = "job = \"base.toml\"\nranks_per_run = 2\n[grid]\n\"run.seed\" = [0]\n"; launcher = ["mpirun", "-np", "3", "--oversubscribe"]; expected = "3 ranks cannot form groups of ranks_per_run = 2"
        }
        try text.write(toFile: scratch.file("s.toml"), atomically: true, encoding: .utf8)
        let outcome = try await descent(["sweep", scratch.file("s.toml")], in: scratch.path, launcher: launcher)
        #expect(outcome.status != 0)
        let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
        #expect(ours.count == 1 && ours[0].contains(expected), "\(outcome)")
    }

    /// The table is never rewritten by the sweep: each bad shape stops it before anything is added, with one
    /// line naming the file and line, and the file is left byte for byte. Deleting the bad line is the fix: the
    /// finished run's row comes back from its run directory without training it again.
    @Test("a results table edited by hand into an invalid state: one line naming the line, nothing lost")
    func editedResultsTable() async throws {
        let scratch = try Scratch()
        try jobText([
            ("run", ["epochs = 1"]),
            ("data", ["path = \"\(fashionMNIST)\"", "subset = 200", "test_subset = 100"]),
            ("model", ["architecture = \"mlp\"", "hidden = [4]"]),
        ]).write(toFile: scratch.file("base.toml"), atomically: true, encoding: .utf8)
        try "job = \"base.toml\"\nname = \"t\"\noutput = \"out\"\n[grid]\n\"run.seed\" = [0, 1]\n"
            .write(toFile: scratch.file("t.toml"), atomically: true, encoding: .utf8)
        let first = try await descent(["sweep", scratch.file("t.toml")], in: scratch.path)
        try #require(first.succeeded, "\(first)")
        let csv = scratch.file("out/t/results.csv")
        let good = try readText(csv)
        let lines = good.split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        let cases: [(String, String, String)] = [
            ("a torn last row", lines[0] + "\n" + lines[1] + "\n" + lines[2].prefix(30) + "\n", "line 3: expected 11 fields"),
            ("another header", "hello,world\n" + lines[1] + "\n", "line 1: the header is 'hello,world'"),
            ("a second row", good + lines[2] + "\n", "line 4: run '\(lines[2].prefix { $0 != "," })' has a second row"),
            ("text for a number", good.replacingOccurrences(of: ",3190,", with: ",31x0,"), "parameters is '31x0', not a number"),
            ("a blank line", lines[0] + "\n\n" + lines[1] + "\n", "line 2: expected 11 fields"),
        ]
        for (what, text, expected) in cases {
            try text.write(toFile: csv, atomically: true, encoding: .utf8)
            for command in [["sweep", scratch.file("t.toml")], ["report", scratch.file("out/t")]] {
                let outcome = try await descent(command, in: scratch.path)
                let ours = outcome.stderrLines.filter { $0.hasPrefix("descent:") }
                #expect(outcome.status != 0 && ours.count == 1 && ours[0].contains(csv) && ours[0].contains(expected),
                        "\(what), \(command[0]): \(outcome)")
                #expect(try readText(csv) == text, "\(what): the table was changed")
            }
        }
        // The fix: delete the bad line. The run keeps its result in its run directory, so its row comes back.
        try (lines[0] + "\n" + lines[1] + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let fixed = try await descent(["sweep", scratch.file("t.toml")], in: scratch.path)
        #expect(fixed.succeeded && fixed.stdout.contains("0 run(s) trained, 0 failed, 2 already done"), "\(fixed)")
        #expect(try resultRows(scratch.file("out/t")).map { $0[0] }.sorted() == ["seed-0", "seed-1"])
        let json = try readText(scratch.file("out/t/results.jsonl")).split(separator: "\n")
        #expect(json.count == 2, "results.jsonl keeps one line per run: \(json)")
    }

    @Test("largest_first sizes the models on the data's own shape and classes: a U-Net sweep on 8×8 segmentation tiles")
    func largestFirstOnTiles() async throws {
        let scratch = try Scratch()
        let tiles = try scratch.directory("tiles")
        try writeSampleFile(tiles + "/train.h5", classes: 3, masks: true)
        try writeSampleFile(tiles + "/test.h5", count: 8, classes: 3, masks: true)
        try jobText([
            ("run", ["epochs = 1"]),
            ("data", ["set = \"hdf5\"", "path = \"tiles\""]),
            ("model", ["architecture = \"unet\"", "depth = 3", "batchnorm = false"]),
            ("optim", ["batch_size = 8", "lr = 0.05"]),
        ]).write(toFile: scratch.file("base.toml"), atomically: true, encoding: .utf8)
        try "job = \"base.toml\"\nname = \"u\"\noutput = \"out\"\n[grid]\n\"model.channels\" = [1, 2]\n"
            .write(toFile: scratch.file("u.toml"), atomically: true, encoding: .utf8)
        let outcome = try await descent(["sweep", scratch.file("u.toml")], in: scratch.path)
        let trained = outcome.stdoutLines.filter { $0.contains(": test error") }
        #expect(outcome.succeeded && trained.count == 2, "\(outcome)")
        #expect(trained.first?.contains("channels-2") == true && trained.last?.contains("channels-1") == true, "\(outcome)")

        // Data that cannot be read: the runs keep their written order and each one reports the problem.
        try "job = \"base.toml\"\nname = \"m\"\noutput = \"out\"\n[set]\n\"data.path\" = \"none\"\n[grid]\n\"model.channels\" = [1, 2]\n"
            .write(toFile: scratch.file("m.toml"), atomically: true, encoding: .utf8)
        let missing = try await descent(["sweep", scratch.file("m.toml")], in: scratch.path)
        let failed = missing.stdoutLines.filter { $0.contains("failed: ") }
        #expect(failed.count == 2 && failed[0].contains("channels-1") && failed[1].contains("[set] data.path: data.path = \"none\": no such directory"), "\(missing)")
    }

    @Test("every sweep file in jobs/ parses, and its Slurm array script renders",
          arguments: try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/jobs").filter { $0.hasSuffix(".sweep.toml") })
    func shippedSweeps(file: String) async throws {
        let scratch = try Scratch()
        let outcome = try await descent(["submit", packageRoot + "/jobs/" + file, "--dry-run"], in: scratch.path)
        #expect(outcome.succeeded && outcome.stdout.contains("#SBATCH --array=0-"), "\(outcome)")
    }

    static let clusterUp: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "sinfo -h -o %T 2>/dev/null | grep -q idle"]
        try? p.runHoldingHDF5Lock()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
}
