// descent-bench — Descent's benchmarks (never run by the tests). Each prints a table of ratios measured side by
// side in one run, and writes it to bench/results/. See bench/README.md.
//
//   descent-bench kernels [--reps N] [--out FILE]    GFLOP/s of Dense and Conv2D forward+backward at the MLP-1024
//                                                   and LeNet-5 shapes (batch 128) next to cblas_sgemm 1024³
//   descent-bench steps --model M --steps K          K bare training steps (heap allocations, under valgrind)
//   [mpirun -np P] descent-bench epoch --model M --epochs E --threads T   s/epoch of the real Trainer on
//                                        Fashion-MNIST, data parallel under mpirun, with per-phase seconds (JSON lines)
//   descent-bench sweep --widths H… --n 4000 --epochs E    µs/step of MLP 784-H-10 on a 4,000-image subset (JSON lines)
//   descent-bench peak --threads T…                  cblas_sgemm 1024³ GFLOP/s (JSON lines)
//   mpirun -np P descent-bench reduction [--out FILE]  µs per gradient reduction + update, shared/sharded vs allreduce
//   mpirun -np 2 descent-bench checkpoint [--mib M]   checkpoint write bandwidth against dd conv=fdatasync
// epoch, sweep and peak are Descent's side of bench/compare.sh (the side-by-side comparison with PyTorch CPU).
#if canImport(Glibc)
import Glibc
#endif
import Tensor

BLASKernels.useTheCPUsKernels()   // the kernels `descent` runs (may execute the program again)
Denormals.flushToZero()           // as `descent` does
let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
/// The integers after `name` up to the next option, space- or comma-separated ("--widths 4 8 16", "--widths 4,8,16").
func integers(_ name: String) -> [Int]? {
    guard let i = arguments.firstIndex(of: name) else { return nil }
    let words = arguments[(i + 1)...].prefix { !$0.hasPrefix("--") }
    return words.flatMap { $0.split(separator: ",") }.map { Int($0) ?? -1 }
}
func failing(_ body: () throws -> Void) {
    do { try body() } catch { print("descent-bench: \(error)"); exit(1) }
}

switch arguments.first {
case "kernels":
    let report = KernelBenchmark(reps: Int(option("--reps") ?? "") ?? 20).run()
    print(report)
    if let path = option("--out") { writeFile(path, report) }
case "steps":
    do { try runSteps(model: option("--model") ?? "mlp", steps: Int(option("--steps") ?? "") ?? 10) } catch { print("descent-bench: \(error)"); exit(1) }
case "epoch":
    failing {
        try TrainingBenchmark.epochs(model: option("--model") ?? "mlp", epochs: Int(option("--epochs") ?? "") ?? 3,
                                     threads: Int(option("--threads") ?? "") ?? 1, jobPath: option("--job"),
                                     sgemmReps: Int(option("--reps") ?? "") ?? 20)
    }
case "sweep":
    failing {
        try TrainingBenchmark.sweep(widths: integers("--widths") ?? [4, 8, 16, 32, 64, 128, 256, 512, 1024],
                                    n: Int(option("--n") ?? "") ?? 4000, epochs: Int(option("--epochs") ?? "") ?? 5,
                                    threads: Int(option("--threads") ?? "") ?? 1, jobPath: option("--job"))
    }
case "reduction":
    failing { try ReductionBenchmark.run(reps: Int(option("--reps") ?? "") ?? 50, out: option("--out")) }
case "checkpoint":
    failing {
        try CheckpointBenchmark.run(megabytes: Int(option("--mib") ?? "") ?? 64, reps: Int(option("--reps") ?? "") ?? 7,
                                    directory: option("--dir") ?? "bench/results", out: option("--out"))
    }
case "peak":
    TrainingBenchmark.peak(threads: integers("--threads") ?? [1, 2], reps: Int(option("--reps") ?? "") ?? 20)
default:
    print("""
    usage: descent-bench kernels [--reps N] [--out FILE]
      kernels   GFLOP/s of Dense and Conv2D forward+backward (MLP-1024 and LeNet-5 shapes, batch 128)
                next to cblas_sgemm 1024³, at 1 and 2 OpenBLAS threads
    usage: descent-bench steps --model mlp|lenet5|resnet|unet --steps K
      steps     K bare training steps, for counting heap allocations under valgrind
    usage: [mpirun -np P] descent-bench epoch --model mlp|lenet5 [--epochs E] [--threads T] [--job FILE] [--reps N]
      epoch     1 warm-up + E timed epochs (default 3) of the real Trainer on Fashion-MNIST with PyTorch's settings
                (bench/pytorch/train.py), T OpenBLAS threads, data parallel over P ranks (global batch 128);
                JSON lines with rank 0's per-phase seconds; FILE defaults to jobs/fmnist-<model>.toml
    usage: descent-bench sweep [--widths H…] [--n N] [--epochs E] [--threads T] [--job FILE]
      sweep     MLP 784-H-10 on a stratified subset of N = 4000 images (bench/pytorch/width_sweep.py), 1 warm-up
                + E timed epochs (default 5, ≥ 3) per width; median µs/step as JSON lines
    usage: descent-bench peak [--threads T…] [--reps N]
      peak      cblas_sgemm 1024³ GFLOP/s at each thread count (default 1 2); JSON lines
    usage: mpirun -np 2 descent-bench checkpoint [--mib 64] [--reps N] [--dir DIR] [--out FILE]
      checkpoint  write bandwidth of a checkpoint of M MiB of state against dd conv=fdatasync, same disk (DIR)
    usage: mpirun -np P descent-bench reduction [--reps N] [--out FILE]
      reduction µs per gradient reduction + SGD update of 1K…4M floats, shared and sharded against allreduce,
                then each phase alone at the MLP's size
    """)
    exit(arguments.isEmpty ? 0 : 2)
}

func writeFile(_ path: String, _ text: String) {
    guard let f = fopen(path, "w") else { print("descent-bench: cannot write \(path)"); exit(1) }
    fputs(text + "\n", f)
    fclose(f)
    print("written to \(path)")
}
