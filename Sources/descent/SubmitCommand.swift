// SubmitCommand.swift — `descent submit JOB`: render the batch script from the job's [slurm] table and the
// flags, check it against the cluster, and sbatch it; the script and Slurm's log go under the run directory.
import ArgumentParser
import Foundation
import Job
import Slurm
import Sweep

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a training job to Slurm (sbatch), requeued on preemption or time limit and resumed from its checkpoint.",
        discussion: """
        The batch script comes from slurm/srun.sbatch or slurm/mpirun.sbatch (or --template), filled from the job's [slurm] \
        table, which the flags override. It asks Slurm for SIGUSR1 --signal seconds before the time limit: the ranks then \
        checkpoint and exit 75, and the script requeues the job (at most slurm.max_requeues times); the requeued job resumes \
        from the run directory's checkpoint. The script is written to RUN/slurm/job.sbatch and Slurm's output to \
        RUN/slurm/slurm-<job id>.out. OpenBLAS runs --cpus-per-task threads per rank. The srun script sets \
        SLURM_PMIX_FENCE=ring (unless set): with Slurm's default fence MPI_Init is no barrier across nodes, and a rank \
        can crash at start-up (README, "srun and MPI_Init on several nodes").
        """
    )

    @Argument(help: "The job file (TOML), or a sweep file (then with --array: one array task per run, or per share of runs).")
    var job: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key of the job file (repeatable), as for descent train.", valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: "Nodes (slurm.nodes).") var nodes: Int?
    @Option(name: .customLong("ntasks-per-node"), help: "MPI ranks per node (slurm.ntasks_per_node).") var ntasksPerNode: Int?
    @Option(name: .customLong("cpus-per-task"), help: "CPUs per rank = OpenBLAS threads per rank (slurm.cpus_per_task).") var cpusPerTask: Int?
    @Option(help: "Time limit, HH:MM:SS, D-HH:MM:SS or another sbatch --time format; a bare number is minutes (slurm.time).") var time: String?
    @Option(help: "Partition (slurm.partition; default: the cluster's default).") var partition: String?
    @Option(help: "Account (slurm.account).") var account: String?
    @Option(help: "srun (PMIx) or mpirun inside the allocation (slurm.launcher).") var launcher: String?
    @Option(help: "Seconds before the time limit at which Slurm sends SIGUSR1 (slurm.signal_seconds).") var signal: Int?
    @Option(help: ArgumentHelp("A job array of N runs of the job: task i trains RUN-i with seed + i. For a sweep file: N tasks share the runs (default: one task per run).", valueName: "N")) var array: Int?
    @Option(name: .customLong("max-parallel"), help: "At most K array tasks run at once (--array=0-(N-1)%K).") var maxParallel: Int?
    @Option(help: "A batch-script template of your own ({{placeholders}} as in slurm/srun.sbatch).") var template: String?
    @Flag(name: .customLong("dry-run"), help: "Print the batch script; submit nothing.") var dryRun = false

    func run() throws {
        try failing {
            if isSweepFile(self.job) { return try submitSweep() }
            var job = try Job(path: self.job, overrides: overrides)
            try applyFlags(&job)
            if let array { guard array >= 1 else { throw CommandError("--array must be ≥ 1, got \(array)") } }
            if let maxParallel, array == nil {
                throw CommandError("--max-parallel \(maxParallel) limits the tasks of a job array: it needs --array N")
            }
            try checkMaxParallel()

            let run = URL(fileURLWithPath: job.runDirectory).standardizedFileURL.path
            // The overrides, then the run directory's parent made absolute (the job may run in another directory).
            var trainArguments = overrides.flatMap { ["--set", BatchScript.quoted($0)] }
            trainArguments += ["--set", BatchScript.quoted("run.output=\(URL(fileURLWithPath: job.string("run.output")).standardizedFileURL.path)")]
            var directives: [String] = []
            var log = run + "/slurm/slurm-%j.out"
            if let array {
                directives.append(arrayDirective(tasks: array))
                log = run + "/slurm/slurm-%A_%a.out"
                trainArguments += ["--set", "\"run.name=\(job.string("run.name"))-${SLURM_ARRAY_TASK_ID}\"",
                                   "--set", "\"run.seed=$(( \(job.int("run.seed")) + SLURM_ARRAY_TASK_ID ))\""]
            }
            let command = "train \(BatchScript.quoted(absolute(self.job))) " + trainArguments.joined(separator: " ")
            let script = try render(job, name: job.string("run.name"), log: log, command: command, directives: directives)
            if dryRun { print(script, terminator: ""); return }

            let (path, id) = try submit(script, job: job, directory: run, file: "job.sbatch")
            print("submitted job \(id): \(path)")
            print("log: \(log.replacingOccurrences(of: "%j", with: id).replacingOccurrences(of: "%A", with: id))")
            print("run directory: \(run)\(array != nil ? "-<task>" : "") (descent status \(run))")
        }
    }

    /// A sweep file has a top-level `job` key (a job file has only tables).
    private func isSweepFile(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.hasPrefix("job ") || $0.hasPrefix("job=") }
    }

    /// A sweep as one Slurm job array: every task runs `descent sweep` and trains its share of the runs; the
    /// sweep's [slurm] resources come from the base job (and the flags).
    private func submitSweep() throws {
        let spec = try SweepSpec(path: self.job)
        guard var base = spec.runs.first?.job else { throw CommandError("\(self.job): the sweep has no runs") }
        try applyFlags(&base)
        let tasks = array ?? spec.runs.count
        guard tasks >= 1 else { throw CommandError("--array must be ≥ 1, got \(tasks)") }
        guard tasks <= spec.runs.count else {
            throw CommandError("--array \(tasks): \(self.job) has only \(spec.runs.count) run(s), so at most \(spec.runs.count) tasks would have work; HINT: --array \(spec.runs.count), or leave --array out (one task per run)")
        }
        try checkMaxParallel()
        let script = try render(base, name: spec.name, log: spec.directory + "/slurm/slurm-%A_%a.out",
                                command: "sweep \(BatchScript.quoted(absolute(self.job)))", directives: [arrayDirective(tasks: tasks)])
        if dryRun { print(script, terminator: ""); return }
        let (path, id) = try submit(script, job: base, directory: spec.directory, file: "sweep.sbatch")
        print("submitted job array \(id) (\(tasks) task(s)\(maxParallel.map { ", at most \($0) at once" } ?? "")): \(path)")
        print("logs: \(spec.directory)/slurm/slurm-\(id)_<task>.out")
        print("results: \(spec.directory)/results.csv (descent report \(spec.directory))")
    }

    /// The resource flags, applied over the job's [slurm] table.
    private func applyFlags(_ job: inout Job) throws {
        let flags: [(String, String?)] = [
            ("slurm.nodes", nodes.map(String.init)), ("slurm.ntasks_per_node", ntasksPerNode.map(String.init)),
            ("slurm.cpus_per_task", cpusPerTask.map(String.init)), ("slurm.time", time.map { "\"\($0)\"" }),
            ("slurm.partition", partition.map { "\"\($0)\"" }), ("slurm.account", account.map { "\"\($0)\"" }),
            ("slurm.launcher", launcher.map { "\"\($0)\"" }), ("slurm.signal_seconds", signal.map(String.init)),
        ]
        for (key, value) in flags {
            if let value { try job.set(key, toTOML: value, origin: key == "slurm.signal_seconds" ? "--signal" : "--\(key.dropFirst(6).replacingOccurrences(of: "_", with: "-"))") }
        }
        try job.validate()
    }

    private func checkMaxParallel() throws {
        if let maxParallel, maxParallel < 1 { throw CommandError("--max-parallel must be ≥ 1, got \(maxParallel)") }
    }

    private func arrayDirective(tasks: Int) -> String { "#SBATCH --array=0-\(tasks - 1)\(maxParallel.map { "%\($0)" } ?? "")" }

    /// The batch script from the template (the job's launcher's, or --template), filled from `job`'s [slurm]
    /// table; `command` is what the ranks run after `descent`.
    private func render(_ job: Job, name: String, log: String, command: String, directives: [String]) throws -> String {
        let templatePath = template ?? packageFile("slurm/\(job.string("slurm.launcher")).sbatch")
        guard let text = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw CommandError(template != nil ? "\(templatePath): cannot read the batch-script template"
                : "\(templatePath): cannot read the batch-script template (looked in the current directory and in the folders above the descent executable, \(URL(fileURLWithPath: executablePath()).deletingLastPathComponent().path)); HINT: --template PATH (the repository's slurm/*.sbatch)")
        }
        var extra = directives
        if let p = job.optionalString("slurm.partition") { extra.append("#SBATCH --partition=\(p)") }
        if let a = job.optionalString("slurm.account") { extra.append("#SBATCH --account=\(a)") }
        let values: [String: String] = [
            "job_name": name, "nodes": "\(job.int("slurm.nodes"))", "ntasks_per_node": "\(job.int("slurm.ntasks_per_node"))",
            "cpus_per_task": "\(job.int("slurm.cpus_per_task"))", "time": job.string("slurm.time"),
            "signal_seconds": "\(job.int("slurm.signal_seconds"))", "max_requeues": "\(job.int("slurm.max_requeues"))", "log": log,
            "descent": BatchScript.quoted(executablePath()), "command": command, "extra_directives": extra.joined(separator: "\n"),
        ]
        return try BatchScript.render(text, values: values, source: templatePath)
    }

    /// Checks the partition's size, writes the script to DIR/slurm/FILE, submits it and records the job id.
    private func submit(_ script: String, job: Job, directory: String, file: String) throws -> (path: String, id: String) {
        let available = try Sbatch.nodes(partition: job.optionalString("slurm.partition"))
        guard job.int("slurm.nodes") <= available else {
            throw CommandError("\(job.int("slurm.nodes")) nodes requested but partition \(job.optionalString("slurm.partition") ?? "(default)") has \(available); nothing submitted")
        }
        try makeDirectory(directory + "/slurm")
        let path = directory + "/slurm/" + file
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let id = try Sbatch.submit(path)
        try (id + "\n").write(toFile: directory + "/slurm/job-id", atomically: true, encoding: .utf8)
        return (path, id)
    }

    private func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// The running executable, absolute (the batch script runs it on the compute nodes).
    private func executablePath() -> String {
        let arg0 = CommandLine.arguments[0]
        if arg0.contains("/") { return URL(fileURLWithPath: arg0).standardizedFileURL.resolvingSymlinksInPath().path }
        return (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(arg0)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? arg0
    }

    /// A file of the Descent checkout the executable was built in (…/.build/<config>/descent → …/slurm/x).
    private func packageFile(_ relative: String) -> String {
        var dir = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return relative
    }
}
