// BLASKernelsTests.swift — which OpenBLAS kernels Descent forces, and that the executables run the CPU's own
// kernels rather than a generic fallback (OpenBLAS 0.3.21 takes CPUs newer than it for a Prescott).
import Foundation
import Testing
@testable import Tensor

@Suite("OpenBLAS kernels")
struct BLASKernelsTests {
    static let avx2: Set<String> = ["sse3", "avx", "avx2", "fma"]
    static let avx512 = avx2.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])

    @Test("a pre-AVX2 fallback on an AVX2 or AVX-512 CPU is replaced; OpenBLAS's own choice stands otherwise",
          arguments: [
              ("Prescott", avx512, "SkylakeX"), ("Prescott", avx2, "Haswell"), ("Core2", avx2, "Haswell"),
              ("Sandybridge", avx512, "SkylakeX"), ("Nehalem", avx2.union(["avx512f"]), "Haswell"),
              ("Prescott", ["sse3", "avx"], nil), ("Prescott", [], nil),
              ("SkylakeX", avx512, nil), ("Haswell", avx512, nil), ("Zen", avx512, nil), ("Zen", avx2, nil),
              ("Cooperlake", avx512, nil),
          ] as [(String, Set<String>, String?)])
    func choice(core: String, flags: Set<String>, forced: String?) {
        #expect(BLASKernels.better(than: core, cpuFlags: flags) == forced)
    }

    @Test("/proc/cpuinfo's flags are read") func flags() {
        let flags = BLASKernels.cpuFlags()
        #expect(flags.contains("sse2") && flags.contains("fpu"), "\(flags.sorted())")
    }

    /// The built `descent-bench` (what `descent` does at start too): on this machine's CPU it must run kernels
    /// at least as wide as the CPU's, whatever OpenBLAS detected by itself.
    @Test("descent-bench runs the CPU's kernels") func executableUsesTheCPUsKernels() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [".build/debug/descent-bench", ".build/release/descent-bench"].map { root.path + "/" + $0 }
        let bench = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "build descent-bench first")
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: bench)
        process.arguments = ["peak", "--threads", "1", "--reps", "1"]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        process.environment = environment
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        let configuration = try #require(output.split(separator: "\n").first { $0.contains("\"openblas\"") }, "\(output)")
        let words = Set(configuration.split(whereSeparator: { " \"".contains($0) }).map { $0.lowercased() })
        let flags = BLASKernels.cpuFlags()
        let expected = BLASKernels.better(than: "Prescott", cpuFlags: flags)
        let kernels = BLASKernels.preAVX2Cores.intersection(words)
        #expect(expected == nil || kernels.isEmpty, "\(configuration): a pre-AVX2 fallback on a CPU with \(expected!) kernels")
    }
}
