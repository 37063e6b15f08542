// Elementwise.swift — loops over contiguous Float buffers, written so that the compiler vectorises them
// (unit stride, no aliasing between source and destination unless stated, no calls in the body).

public enum Kernels {
    /// y[i] += alpha · x[i]
    @inline(__always)
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// y[i] += x[i]
    @inline(__always)
    public static func add(_ n: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] += x[i] }
    }

    /// z[i] = x[i] + y[i]
    @inline(__always)
    public static func sum(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) {
        for i in 0..<n { z[i] = x[i] + y[i] }
    }

    /// x[i] *= alpha
    @inline(__always)
    public static func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        for i in 0..<n { x[i] *= alpha }
    }

    /// Adds `bias[j]` to column j of every row of an n × m row-major matrix (rows are samples), rows `ld` apart
    /// (default m).
    @inline(__always)
    public static func addRowVector(rows: Int, cols: Int, ld: Int? = nil, _ bias: UnsafePointer<Float>,
                                    _ x: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * (ld ?? cols)
            for j in 0..<cols { row[j] += bias[j] }
        }
    }

    /// out[j] = Σ_r x[r][j] over an n × m row-major matrix (column sums); rows `ld` apart (default m).
    @inline(__always)
    public static func sumRows(rows: Int, cols: Int, ld: Int? = nil, _ x: UnsafePointer<Float>,
                               into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let row = x + r * (ld ?? cols)
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    /// Σ x[i] accumulated in Double (used for losses and statistics, where Float sums lose digits).
    @inline(__always)
    public static func sumDouble(_ n: Int, _ x: UnsafePointer<Float>) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(x[i]) }
        return s
    }

    /// Σ x[i]² in Double.
    @inline(__always)
    public static func sumOfSquares(_ n: Int, _ x: UnsafePointer<Float>) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(x[i]) * Double(x[i]) }
        return s
    }
}
