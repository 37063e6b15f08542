// BLAS.swift — the only door to OpenBLAS: row-major sgemm with transposes expressed as flags (no copies), and
// control of OpenBLAS's thread pool.
import COpenBLAS

public enum BLAS {
    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored (before the transpose).
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // BLAS leaves C untouched when k = 0 only if beta = 1; make the empty product explicit.
            if beta == 0 {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Dense gemm on whole tensors: C = alpha · op(A) · op(B) + beta · C with shapes read from the tensors
    /// (each viewed as a matrix: first dimension × the rest).
    public static func gemm(_ a: Tensor, transA: Bool = false, _ b: Tensor, transB: Bool = false,
                            into c: Tensor, alpha: Float = 1, beta: Float = 0) {
        let (ar, ac) = (a.shape[0], a.count / max(a.shape[0], 1))
        let (br, bc) = (b.shape[0], b.count / max(b.shape[0], 1))
        let (m, k) = transA ? (ac, ar) : (ar, ac)
        let (k2, n) = transB ? (bc, br) : (br, bc)
        precondition(k == k2 && c.count == m * n, "gemm shapes \(a.shape)\(transA ? "ᵀ" : "") · \(b.shape)\(transB ? "ᵀ" : "") → \(c.shape)")
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
             a: a.data, lda: ac, b: b.data, ldb: bc, beta: beta, c: c.data, ldc: n)
    }

    /// Sets the number of threads OpenBLAS uses in this process.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// The number of threads OpenBLAS will use.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64").
    public static var configuration: String { String(cString: openblas_get_config()) }
}
