// Clock.swift — wall-clock timing for the benchmarks: the median of repeated runs after a warm-up.
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Median seconds of `reps` calls of `body`, after two warm-up calls.
func medianSeconds(reps: Int, _ body: () -> Void) -> Double {
    body(); body()
    var times: [Double] = []
    for _ in 0..<max(reps, 1) {
        let t0 = now()
        body()
        times.append(now() - t0)
    }
    times.sort()
    return times[times.count / 2]
}

func fixed(_ x: Double, _ digits: Int = 1) -> String {
    var s = String(format: x, digits)
    if s.hasPrefix("-0") && Double(s) == 0 { s.removeFirst() }
    return s
}

private func String(format x: Double, _ digits: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([digits, x]) { vsnprintf(&buffer, 64, "%.*f", $0) }
    return Swift.String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func padLeft(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
func padRight(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
