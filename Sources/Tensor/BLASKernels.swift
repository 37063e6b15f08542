// BLASKernels.swift — makes OpenBLAS run the vector kernels this CPU has. A DYNAMIC_ARCH OpenBLAS (Debian's)
// picks its kernels once, when it is loaded, from the CPU's model number; on a CPU newer than the library
// (Debian 12's 0.3.21 on an Intel Xeon of family 6, model 207) it falls back to its generic Prescott (SSE3)
// kernels: sgemm then runs 5-7× slower than with the AVX-512 ones the CPU has. Only OPENBLAS_CORETYPE, read at
// load time, changes the choice, so a process that finds itself on such a fallback sets it and executes itself
// again, once, before anything else has started (MPI included: under mpirun and srun the rank keeps its pid).
// The new execution then removes the variable: the programs it starts (sbatch, and the job it submits, perhaps on
// nodes of another CPU) choose for their own CPU.
#if canImport(Glibc)
import Glibc
#endif
import COpenBLAS

public enum BLASKernels {
    /// Set in the re-executed process to the kernels OpenBLAS had picked on its own (for the start-up table).
    static let fallbackVariable = "DESCENT_OPENBLAS_FALLBACK"

    /// The kernels OpenBLAS runs: "SkylakeX", "Haswell", "Zen", "Prescott", …
    public static var core: String { String(cString: openblas_get_corename()) }

    /// The kernels OpenBLAS had picked on its own, when Descent chose others.
    nonisolated(unsafe) private static var fallback: String?

    /// The kernels OpenBLAS runs and, when Descent chose them, why: "SkylakeX kernels (OpenBLAS took this CPU
    /// for Prescott; OPENBLAS_CORETYPE=SkylakeX set)".
    public static var description: String {
        guard let fallback else { return "\(core) kernels" }
        return "\(core) kernels (OpenBLAS took this CPU for \(fallback); OPENBLAS_CORETYPE=\(core) set)"
    }

    /// OpenBLAS's cores that use neither AVX2 nor AVX-512: on a CPU with AVX2, a sign that it did not know the
    /// model and fell back. (Haswell or Zen kernels on an AVX-512 CPU are OpenBLAS's own choice and kept.)
    static let preAVX2Cores: Set<String> = [
        "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
        "nehalem", "sandybridge", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat",
        "bulldozer", "piledriver", "steamroller", "unknown",
    ]

    /// The OPENBLAS_CORETYPE to force when `core` is a fallback below what a CPU with `cpuFlags` (as in
    /// /proc/cpuinfo) can run; nil when OpenBLAS's choice stands.
    static func better(than core: String, cpuFlags: Set<String>) -> String? {
        guard preAVX2Cores.contains(core.lowercased()) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The flags of the first processor in /proc/cpuinfo (empty when it cannot be read).
    static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil, capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix("flags") else { continue }
            return Set(text.split(separator: ":", maxSplits: 1).last?.split(whereSeparator: { $0 == " " || $0 == "\n" })
                .map(String.init) ?? [])
        }
        return []
    }

    /// Call first in `main`: when OpenBLAS fell back to kernels below this CPU's and the user has not chosen
    /// (OPENBLAS_CORETYPE), executes this program again with the right ones. Returns when nothing is to be done,
    /// or when the new execution cannot start (the program then runs on as it is).
    public static func useTheCPUsKernels() {
        if let picked = getenv(fallbackVariable) {
            // The execution started below: OpenBLAS has read OPENBLAS_CORETYPE, which goes (see the header).
            fallback = String(cString: picked)
            unsetenv(fallbackVariable)
            unsetenv("OPENBLAS_CORETYPE")
            return
        }
        if let chosen = getenv("OPENBLAS_CORETYPE"), chosen.pointee != 0 { return }
        guard let better = better(than: core, cpuFlags: cpuFlags()) else { return }
        setenv(fallbackVariable, core, 1)
        setenv("OPENBLAS_CORETYPE", better, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv(fallbackVariable)   // exec failed: nothing was chosen
        unsetenv("OPENBLAS_CORETYPE")
    }
}
