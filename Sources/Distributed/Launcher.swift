// Launcher.swift — how this process was started (mpirun, srun, or by hand), read from the environment before
// MPI starts, and the OpenBLAS thread count each rank should use.
#if canImport(Glibc)
import Glibc
#endif

public struct Launcher: Equatable, Sendable {
    public enum Kind: String, Sendable { case mpirun, srun, none }
    public var kind: Kind
    /// The task count the launcher announced (nil when it said nothing).
    public var tasks: Int?
    /// This process's rank as the launcher numbered it.
    public var rank: Int?

    public init(kind: Kind, tasks: Int?, rank: Int?) { self.kind = kind; self.tasks = tasks; self.rank = rank }

    /// Reads Open MPI's, PMIx's and Slurm's variables.
    public static func detect(_ env: [String: String]) -> Launcher {
        func int(_ key: String) -> Int? { env[key].flatMap { Int($0) } }
        if let size = int("OMPI_COMM_WORLD_SIZE") {
            return Launcher(kind: .mpirun, tasks: size, rank: int("OMPI_COMM_WORLD_RANK"))
        }
        // srun sets SLURM_STEP_ID and SLURM_PROCID for each task of a step; a batch script itself has no PROCID
        // in the step sense but does have SLURM_NTASKS for the allocation, so require both.
        if env["SLURM_STEP_ID"] != nil, let procid = int("SLURM_PROCID") {
            return Launcher(kind: .srun, tasks: int("SLURM_STEP_NUM_TASKS") ?? int("SLURM_NTASKS"), rank: procid)
        }
        if let rank = int("PMIX_RANK") { return Launcher(kind: .srun, tasks: int("PMIX_SIZE"), rank: rank) }
        return Launcher(kind: .none, tasks: nil, rank: nil)
    }

    /// True on the process that should print before MPI starts (rank 0 of the launcher, or the only one).
    public var printsBeforeMPI: Bool { (rank ?? 0) == 0 }

    /// A one-line explanation, before MPI starts, when srun started several tasks without PMIx (`--mpi=none`
    /// or pmi2): Open MPI could not form one job from them.
    public func missingPMIx(_ env: [String: String]) -> String? {
        guard kind == .srun, let tasks, tasks > 1, env["PMIX_RANK"] == nil else { return nil }
        return "srun started \(tasks) tasks without PMIx, so MPI cannot join them into one job. HINT: srun --mpi=pmix (see `srun --mpi=list`), or set MpiDefault=pmix in slurm.conf"
    }

    /// A one-line warning, before MPI starts, when srun runs PMIx ranks on several nodes with a fence other than
    /// Slurm's `ring`. Slurm's default (`mixed`, like `tree`) does not hold MPI_Init until the ranks of every node
    /// can receive: Open MPI 4.1 returns from MPI_Init on one node while a rank of another still waits inside it,
    /// and a message reaching that rank over TCP calls a receive handler not yet registered (SIGSEGV, now and
    /// then; every time with `tree` when a rank is slow). `ring` makes it a barrier. `mpiConf` is the text of
    /// Slurm's mpi.conf, where a site can choose the fence for everyone (PMIxCollFence), read only when needed.
    public func unsafeFence(_ env: [String: String], mpiConf: @autoclosure () -> String?) -> String? {
        guard kind == .srun, env["PMIX_RANK"] != nil,
              let nodes = (env["SLURM_STEP_NUM_NODES"] ?? env["SLURM_NNODES"]).flatMap({ Int($0) }), nodes > 1 else { return nil }
        let fence = (env["SLURM_PMIX_FENCE"].flatMap { $0.isEmpty ? nil : $0 } ?? mpiConf().flatMap { Self.setting("PMIxCollFence", in: $0) } ?? "mixed").lowercased()
        guard fence != "ring" else { return nil }
        return "WARNING: srun's PMIx fence is '\(fence)' (SLURM_PMIX_FENCE, PMIxCollFence in mpi.conf; Slurm's default is mixed): MPI_Init can then end on one node while a rank of another is not ready to receive, and with Open MPI over TCP that rank may crash at start-up (SIGSEGV in MPI_Init). HINT: export SLURM_PMIX_FENCE=ring before srun (the script of descent submit does)"
    }

    /// The value of `key` (case-insensitive, as Slurm reads it) in a `Key=value` file; the last one wins.
    static func setting(_ key: String, in text: String) -> String? {
        func trimmed(_ s: Substring) -> String { String(s.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
        return text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.prefix { $0 != "#" }.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, trimmed(parts[0]).lowercased() == key.lowercased() else { return nil }
            return trimmed(parts[1])
        }.last
    }

    /// A one-line explanation when the launcher started several tasks but MPI formed a 1-rank world: each task
    /// would train its own copy of the model. Nil when the two agree.
    public func mismatch(mpiSize: Int) -> String? {
        guard let tasks, tasks > 1, mpiSize != tasks else { return nil }
        switch kind {
        case .srun:
            return "Slurm started \(tasks) tasks but MPI sees \(mpiSize) rank(s): each task would train alone. HINT: launch with `srun --mpi=pmix` (see `srun --mpi=list`), or use mpirun inside the allocation"
        default:
            return "the launcher started \(tasks) tasks but MPI sees \(mpiSize) rank(s). HINT: the executable and mpirun must use the same MPI library"
        }
    }
}

/// How many OpenBLAS threads each rank runs, and why.
public struct ThreadPlan: Equatable, Sendable {
    public var threads: Int
    public var reason: String
    /// Ranks on this node and the node's cores, for the start-up table and the oversubscription warning.
    public var localRanks: Int, cores: Int

    /// The user's OPENBLAS_NUM_THREADS wins, then Slurm's --cpus-per-task, then cores ÷ ranks on the node.
    public static func choose(env: [String: String], localRanks: Int, cores: Int) -> ThreadPlan {
        if let n = env["OPENBLAS_NUM_THREADS"].flatMap({ Int($0) }), n > 0 {
            return ThreadPlan(threads: n, reason: "OPENBLAS_NUM_THREADS", localRanks: localRanks, cores: cores)
        }
        if let n = env["SLURM_CPUS_PER_TASK"].flatMap({ Int($0) }), n > 0 {
            return ThreadPlan(threads: n, reason: "SLURM_CPUS_PER_TASK", localRanks: localRanks, cores: cores)
        }
        let share = max(1, cores / max(localRanks, 1))
        return ThreadPlan(threads: share, reason: "\(cores) cores ÷ \(localRanks) rank(s) on the node", localRanks: localRanks, cores: cores)
    }

    /// A warning when the ranks of this node would run more BLAS threads than it has cores.
    public var oversubscription: String? {
        let total = threads * localRanks
        guard total > cores else { return nil }
        return "WARNING: \(localRanks) rank(s) × \(threads) BLAS thread(s) = \(total) threads on \(cores) cores; ranks will fight over cores (set OPENBLAS_NUM_THREADS or --cpus-per-task)"
    }

    /// The cores of this node (online processors).
    public static var nodeCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
