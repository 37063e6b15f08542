// Axis.swift — chart axes: the displayed range, "nice" tick values (1, 2, 5 × 10ᵏ on linear axes, powers of ten
// on logarithmic ones) and compact tick labels (1k, 10k, 1M; 0.001; 1e-5).
import Foundation

struct Axis {
    struct Tick { var value: Double; var label: String }

    let scale: LineChart.Scale
    /// The displayed range, in data units (powers of ten on a logarithmic axis).
    let lower: Double, upper: Double
    /// Labelled ticks, each with a grid line.
    let ticks: [Tick]
    /// Unlabelled grid lines (2…9 × 10ᵏ on a logarithmic axis spanning few decades).
    let minor: [Double]

    /// Where `v` falls on the axis, 0 at `lower` and 1 at `upper`.
    func fraction(_ v: Double) -> Double {
        switch scale {
        case .linear: (v - lower) / (upper - lower)
        case .logarithmic: (log10(v) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// Whether `v` can be drawn on this kind of axis (finite, and positive on a logarithmic one).
    static func plottable(_ v: Double, _ scale: LineChart.Scale) -> Bool {
        v.isFinite && (scale == .linear || v > 0)
    }

    /// An axis covering `values` (the plottable ones) or `range` when given, with about `targetTicks` ticks;
    /// nil when there is nothing to cover.
    static func make(values: [Double], scale: LineChart.Scale, range: ClosedRange<Double>?, targetTicks: Int) -> Axis? {
        var lo: Double, hi: Double
        if let range, plottable(range.lowerBound, scale), plottable(range.upperBound, scale) {
            (lo, hi) = (range.lowerBound, range.upperBound)
        } else {
            let usable = values.filter { plottable($0, scale) }
            guard let mn = usable.min(), let mx = usable.max() else { return nil }
            (lo, hi) = (mn, mx)
        }
        switch scale {
        case .linear:
            let whole = [lo, hi].allSatisfy { $0 == $0.rounded() } && values.allSatisfy { !$0.isFinite || $0 == $0.rounded() }
            return linear(lo, hi, targetTicks: max(targetTicks, 2), whole: whole)
        case .logarithmic: return logarithmic(lo, hi, targetTicks: max(targetTicks, 2))
        }
    }

    /// `whole`: every value is a whole number (epochs, counts), so ticks are too.
    private static func linear(_ lo0: Double, _ hi0: Double, targetTicks: Int, whole: Bool) -> Axis {
        var (lo, hi) = (lo0, hi0)
        if hi - lo <= abs(hi) * 1e-12 {                // one value: give it room
            let pad = whole ? max(1, abs(lo) * 0.1).rounded(.up) : lo == 0 ? 1 : abs(lo) * 0.1
            (lo, hi) = lo >= 0 && lo - pad < 0 ? (0, hi + pad) : (lo - pad, hi + pad)
        }
        let step = max(niceStep((hi - lo) / Double(targetTicks - 1)), whole ? 1 : 0)
        let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
        let lower = first * step, upper = last * step
        let ticks = stride(from: first, through: last, by: 1).map { i -> Tick in
            let v = i * step
            return Tick(value: v, label: compact(v, step: step))
        }
        return Axis(scale: .linear, lower: lower, upper: upper, ticks: ticks, minor: [])
    }

    private static func logarithmic(_ lo: Double, _ hi: Double, targetTicks: Int) -> Axis {
        // Whole decades around the data; the 1e-9 keeps an exact power of ten (log10(1000) = 2.9999…) its own.
        let a = Int((log10(lo) + 1e-9).rounded(.down))
        var b = Int((log10(hi) - 1e-9).rounded(.up))
        if b <= a { b = a + 1 }
        let every = max(1, Int((Double(b - a) / Double(targetTicks)).rounded(.up)))
        if (b - a) % every != 0 { b += every - (b - a) % every }     // end on a labelled power
        let decades = b - a
        let ticks = stride(from: a, through: b, by: every).map { k -> Tick in
            let v = pow(10, Double(k))
            return Tick(value: v, label: compact(v, step: nil))
        }
        var minor: [Double] = []
        if decades <= 6 {
            for k in a..<b { for m in 2...9 { minor.append(Double(m) * pow(10, Double(k))) } }
        }
        return Axis(scale: .logarithmic, lower: pow(10, Double(a)), upper: pow(10, Double(b)), ticks: ticks, minor: minor)
    }

    /// 1, 2 or 5 × 10ᵏ, the nearest to `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let n = raw / magnitude
        return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude
    }

    /// A short label for `v`: thousands as k, M, G ("1.5k", "10M"); tiny values in exponent form ("1e-5").
    /// With `step` (the spacing of neighbouring ticks) just enough decimals to tell neighbours apart; without
    /// it three significant digits.
    static func compact(_ v: Double, step: Double?) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : v > 0 ? "∞" : "−∞" }
        let a = abs(v)
        if a == 0 || a < (step ?? 0) * 1e-6 { return "0" }
        if a >= 1e12 || (a < 0.99999e-4 && (step ?? 0) < 1e-4) {
            let e = Int(log10(a).rounded(.down))
            var mantissa = v / pow(10, Double(e))
            if abs(mantissa) >= 9.995 { mantissa /= 10; return trimmed(mantissa, 2) + "e\(e + 1)" }
            return trimmed(mantissa, 2) + "e\(e)"
        }
        let (unit, suffix): (Double, String) = a >= 1e9 ? (1e9, "G") : a >= 1e6 ? (1e6, "M") : a >= 1e3 ? (1e3, "k") : (1, "")
        let s = v / unit
        let decimals: Int
        if let step, step > 0 {
            decimals = min(8, max(0, Int((-log10(step / unit) - 1e-9).rounded(.up))))
        } else {
            decimals = min(8, max(0, 2 - Int(log10(abs(s)).rounded(.down))))
        }
        return trimmed(s, decimals) + suffix
    }

    /// `v` with at most `decimals` decimals, trailing zeros removed, never "-0".
    private static func trimmed(_ v: Double, _ decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}
