// descent-bench — Descent's benchmarks (never run by the tests). Each prints a table of ratios measured side by
// side in one run, and writes it to bench/results/. See bench/README.md.
//
//   descent-bench kernels [--reps N] [--out FILE]    GFLOP/s of Dense and Conv2D forward+backward at the MLP-1024
//                                                   and LeNet-5 shapes (batch 128) next to cblas_sgemm 1024³
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

switch arguments.first {
case "kernels":
    let report = KernelBenchmark(reps: Int(option("--reps") ?? "") ?? 20).run()
    print(report)
    if let path = option("--out") { writeFile(path, report) }
default:
    print("""
    usage: descent-bench kernels [--reps N] [--out FILE]
      kernels   GFLOP/s of Dense and Conv2D forward+backward (MLP-1024 and LeNet-5 shapes, batch 128)
                next to cblas_sgemm 1024³, at 1 and 2 OpenBLAS threads
    """)
    exit(arguments.isEmpty ? 0 : 2)
}

func writeFile(_ path: String, _ text: String) {
    guard let f = fopen(path, "w") else { print("descent-bench: cannot write \(path)"); exit(1) }
    fputs(text + "\n", f)
    fclose(f)
    print("written to \(path)")
}
