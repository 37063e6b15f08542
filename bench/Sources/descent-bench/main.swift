// descent-bench — Descent's benchmarks (never run by the tests). Each prints a table of ratios measured side by
// side in one run, and writes it to bench/results/. See bench/README.md.
//
//   descent-bench kernels [--reps N] [--out FILE]    GFLOP/s of Dense and Conv2D forward+backward at the MLP-1024
//                                                   and LeNet-5 shapes (batch 128) next to cblas_sgemm 1024³
//   descent-bench steps --model M --steps K          K bare training steps (heap allocations, under valgrind)
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
case "steps":
    do { try runSteps(model: option("--model") ?? "mlp", steps: Int(option("--steps") ?? "") ?? 10) } catch { print("descent-bench: \(error)"); exit(1) }
default:
    print("""
    usage: descent-bench kernels [--reps N] [--out FILE]
      kernels   GFLOP/s of Dense and Conv2D forward+backward (MLP-1024 and LeNet-5 shapes, batch 128)
                next to cblas_sgemm 1024³, at 1 and 2 OpenBLAS threads
    usage: descent-bench steps --model mlp|lenet5|resnet|unet --steps K
      steps     K bare training steps, for counting heap allocations under valgrind
    """)
    exit(arguments.isEmpty ? 0 : 2)
}

func writeFile(_ path: String, _ text: String) {
    guard let f = fopen(path, "w") else { print("descent-bench: cannot write \(path)"); exit(1) }
    fputs(text + "\n", f)
    fclose(f)
    print("written to \(path)")
}
