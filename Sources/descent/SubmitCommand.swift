// SubmitCommand.swift — `descent submit JOB`: render the batch script from the job's [slurm] table and the
// flags, check it against the cluster, and sbatch it; the script and Slurm's log go under the run directory.
import ArgumentParser
import Foundation
import Job
import Slurm

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a training job to Slurm (sbatch), requeued on preemption or time limit and resumed from its checkpoint.",
        discussion: """
        The batch script comes from slurm/srun.sbatch or slurm/mpirun.sbatch (or --template), filled from the job's [slurm] \
        table, which the flags override. It asks Slurm for SIGUSR1 --signal seconds before the time limit: the ranks then \
        checkpoint and exit 75, and the script requeues the job (at most slurm.max_requeues times); the requeued job resumes \
        from the run directory's checkpoint. The script is written to RUN/slurm/job.sbatch and Slurm's output to \
        RUN/slurm/slurm-<job id>.out. OpenBLAS runs --cpus-per-task threads per rank.
        """
    )

    @Argument(help: "The job file (TOML).")
    var job: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key of the job file (repeatable), as for descent train.", valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: "Nodes (slurm.nodes).") var nodes: Int?
    @Option(name: .customLong("ntasks-per-node"), help: "MPI ranks per node (slurm.ntasks_per_node).") var ntasksPerNode: Int?
    @Option(name: .customLong("cpus-per-task"), help: "CPUs per rank = OpenBLAS threads per rank (slurm.cpus_per_task).") var cpusPerTask: Int?
    @Option(help: "Time limit, HH:MM:SS or D-HH:MM:SS (slurm.time).") var time: String?
    @Option(help: "Partition (slurm.partition; default: the cluster's default).") var partition: String?
    @Option(help: "Account (slurm.account).") var account: String?
    @Option(help: "srun (PMIx) or mpirun inside the allocation (slurm.launcher).") var launcher: String?
    @Option(help: "Seconds before the time limit at which Slurm sends SIGUSR1 (slurm.signal_seconds).") var signal: Int?
    @Option(help: ArgumentHelp("A job array of N runs of the job: task i trains RUN-i with seed + i.", valueName: "N")) var array: Int?
    @Option(help: "A batch-script template of your own ({{placeholders}} as in slurm/srun.sbatch).") var template: String?
    @Flag(name: .customLong("dry-run"), help: "Print the batch script; submit nothing.") var dryRun = false

    func run() throws {
        try failing {
            var job = try Job(path: self.job, overrides: overrides)
            let flags: [(String, String?)] = [
                ("slurm.nodes", nodes.map(String.init)), ("slurm.ntasks_per_node", ntasksPerNode.map(String.init)),
                ("slurm.cpus_per_task", cpusPerTask.map(String.init)), ("slurm.time", time.map { "\"\($0)\"" }),
                ("slurm.partition", partition.map { "\"\($0)\"" }), ("slurm.account", account.map { "\"\($0)\"" }),
                ("slurm.launcher", launcher.map { "\"\($0)\"" }), ("slurm.signal_seconds", signal.map(String.init)),
            ]
            for (key, value) in flags { if let value { try job.set(key, toTOML: value, origin: "--\(key.dropFirst(6).replacingOccurrences(of: "_", with: "-"))") } }
            try job.validate()
            if let array { guard array >= 1 else { throw CommandError("--array must be ≥ 1, got \(array)") } }

            let run = URL(fileURLWithPath: job.runDirectory).standardizedFileURL.path
            let templatePath = template ?? packageFile("slurm/\(job.string("slurm.launcher")).sbatch")
            guard let text = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
                throw CommandError("\(templatePath): cannot read the batch-script template")
            }
            // The overrides, then the run directory's parent made absolute (the job may run in another directory).
            var trainArguments = overrides.flatMap { ["--set", BatchScript.quoted($0)] }
            trainArguments += ["--set", BatchScript.quoted("run.output=\(URL(fileURLWithPath: job.string("run.output")).standardizedFileURL.path)")]
            var directives: [String] = []
            if let p = job.optionalString("slurm.partition") { directives.append("#SBATCH --partition=\(p)") }
            if let a = job.optionalString("slurm.account") { directives.append("#SBATCH --account=\(a)") }
            var log = run + "/slurm/slurm-%j.out"
            if let array {
                directives.append("#SBATCH --array=0-\(array - 1)")
                log = run + "/slurm/slurm-%A_%a.out"
                trainArguments += ["--set", "\"run.name=\(job.string("run.name"))-${SLURM_ARRAY_TASK_ID}\"",
                                   "--set", "\"run.seed=$(( \(job.int("run.seed")) + SLURM_ARRAY_TASK_ID ))\""]
            }
            let values: [String: String] = [
                "job_name": job.string("run.name"), "nodes": "\(job.int("slurm.nodes"))",
                "ntasks_per_node": "\(job.int("slurm.ntasks_per_node"))", "cpus_per_task": "\(job.int("slurm.cpus_per_task"))",
                "time": job.string("slurm.time"), "signal_seconds": "\(job.int("slurm.signal_seconds"))",
                "max_requeues": "\(job.int("slurm.max_requeues"))", "log": log,
                "descent": BatchScript.quoted(executablePath()), "job": BatchScript.quoted(URL(fileURLWithPath: self.job).standardizedFileURL.path),
                "train_arguments": trainArguments.joined(separator: " "), "extra_directives": directives.joined(separator: "\n"),
            ]
            let script = try BatchScript.render(text, values: values, source: templatePath)
            if dryRun { print(script, terminator: ""); return }

            let available = try Sbatch.nodes(partition: job.optionalString("slurm.partition"))
            guard job.int("slurm.nodes") <= available else {
                throw CommandError("\(job.int("slurm.nodes")) nodes requested but partition \(job.optionalString("slurm.partition") ?? "(default)") has \(available); nothing submitted")
            }
            try makeDirectory(run + "/slurm")
            let path = run + "/slurm/job.sbatch"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            let id = try Sbatch.submit(path)
            try (id + "\n").write(toFile: run + "/slurm/job-id", atomically: true, encoding: .utf8)
            print("submitted job \(id): \(path)")
            print("log: \(log.replacingOccurrences(of: "%j", with: id).replacingOccurrences(of: "%A", with: id))")
            print("run directory: \(run)\(array != nil ? "-<task>" : "") (descent status \(run))")
        }
    }

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
