// Sbatch.swift — the Slurm commands Descent runs: sbatch (submit a script, get the job id), sinfo (the
// partition's size), squeue (a job's state). Each failure is one line naming the command and its message.
import Foundation

public enum Sbatch {
    /// Runs `command arguments…` and returns its status and output (stdout + stderr); nil when the command is
    /// not installed.
    static func run(_ command: String, _ arguments: [String]) -> (status: Int32, output: String)? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let executable = paths.map({ "\($0)/\(command)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Submits `script` and returns the job id.
    public static func submit(_ script: String) throws -> String {
        guard let (status, output) = run("sbatch", ["--parsable", script]) else {
            throw SlurmError("sbatch not found: Slurm is not installed here (or not on PATH); HINT: slurm/cluster.sh start runs a local cluster, --dry-run prints the script")
        }
        guard status == 0, let id = output.split(separator: "\n").last?.split(separator: ";").first else {
            throw SlurmError("sbatch \(script) failed: \(output.split(separator: "\n").first.map(String.init) ?? "exit \(status)")")
        }
        return String(id)
    }

    /// The number of nodes of `partition` (the default partition when nil).
    public static func nodes(partition: String?) throws -> Int {
        var arguments = ["-h", "-o", "%D %P"]
        if let partition { arguments += ["-p", partition] }
        guard let (status, output) = run("sinfo", arguments) else {
            throw SlurmError("sinfo not found: Slurm is not installed here (or not on PATH); HINT: slurm/cluster.sh start runs a local cluster, --dry-run prints the script")
        }
        guard status == 0 else { throw SlurmError("sinfo failed: \(output.split(separator: "\n").first.map(String.init) ?? "exit \(status)")") }
        // Lines "N name" (the default partition marked with *); with -p only that partition's lines.
        let rows = output.split(separator: "\n").compactMap { line -> (Int, String)? in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[0]) else { return nil }
            return (n, String(parts[1]))
        }
        let chosen = partition == nil ? rows.filter { $0.1.hasSuffix("*") } : rows
        guard !chosen.isEmpty else {
            throw SlurmError(partition.map { "partition \($0) does not exist (sinfo lists \(rows.map(\.1).joined(separator: ", ")))" } ?? "Slurm has no default partition; give --partition")
        }
        return chosen.map(\.0).reduce(0, +)
    }

    /// The state of job `id` in the queue (PENDING, RUNNING, …), or nil when it has left the queue.
    public static func queueState(_ id: String) -> String? {
        guard let (status, output) = run("squeue", ["-h", "-j", id, "-o", "%T"]), status == 0, !output.isEmpty else { return nil }
        return output.split(separator: "\n").first.map(String.init)
    }

    /// The final state of job `id` from the accounting or job-completion records (sacct, then sacct -c).
    public static func finalState(_ id: String) -> String? {
        for extra in [[], ["-c"]] {
            guard let (status, output) = run("sacct", extra + ["-n", "-X", "-j", id, "-o", "State"]), status == 0 else { continue }
            if let state = output.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces), !state.isEmpty { return state }
        }
        return nil
    }
}
