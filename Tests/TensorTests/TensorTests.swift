// TensorTests.swift — sgemm with every transpose against a naive product, im2col/col2im against their
// definitions (col2im is the adjoint of im2col), and tensor storage basics.
import Testing
@testable import Tensor

private func random(_ n: Int, _ name: String) -> [Float] {
    let r = RandomStream(seed: 3, name: name)
    return (0..<n).map { r.normal(UInt64($0)) }
}

@Suite("Tensor core")
struct TensorTests {
    /// Tolerance as in Tests/LayersTests/ReferenceTests.swift: 1e-5 of the sum of |terms| per element.
    @Test("gemm = naive product for every transpose, alpha and beta",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemm(transA: Bool, transB: Bool) {
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (64, 33, 17), (10, 1, 300)] {
            let a = random(m * k, "a"), b = random(k * n, "b"), c0 = random(m * n, "c")
            var c = c0
            let lda = transA ? m : k, ldb = transB ? k : n
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                      beta: 2, c: &c, ldc: n)
            for i in 0..<m { for j in 0..<n {
                var s = 0.0, mag = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv); mag += abs(Double(av) * Double(bv))
                }
                let old = Double(c0[i * n + j])
                let expected: Double = 0.5 * s + 2 * old
                let bound: Double = 1e-5 * (mag + abs(old)) + 1e-12
                #expect(abs(Double(c[i * n + j]) - expected) <= bound)
            } }
        }
    }

    @Test("gemm with k = 0 scales C by beta") func gemmEmpty() {
        var c: [Float] = [1, 2, 3, 4]
        let none: [Float] = [0]
        BLAS.gemm(m: 2, n: 2, k: 0, a: none, lda: 1, b: none, ldb: 2, beta: 0.5, c: &c, ldc: 2)
        #expect(c == [0.5, 1, 1.5, 2])
    }

    struct Geometry: Sendable, CustomTestStringConvertible {
        var c: Int, h: Int, w: Int, k: Int, s: Int, p: Int
        var testDescription: String { "\(c)×\(h)×\(w) k\(k) s\(s) p\(p)" }
        var g: ConvGeometry { ConvGeometry(channels: c, height: h, width: w, kernel: (k, k), stride: (s, s), padding: (p, p)) }
    }

    @Test("im2col matches its definition; col2im is its adjoint", arguments: [
        Geometry(c: 1, h: 5, w: 5, k: 3, s: 1, p: 0), Geometry(c: 2, h: 6, w: 7, k: 3, s: 2, p: 1),
        Geometry(c: 3, h: 4, w: 4, k: 5, s: 1, p: 2), Geometry(c: 2, h: 7, w: 5, k: 2, s: 3, p: 1),
        Geometry(c: 1, h: 3, w: 3, k: 4, s: 2, p: 2),
    ])
    func im2col(_ geo: Geometry) {
        let g = geo.g, batch = 2
        let x = random(batch * g.channels * g.inPixels, "x")
        var col = [Float](repeating: .nan, count: g.fieldSize * batch * g.outPixels)
        Im2Col.im2col(x, batch: batch, g, into: &col)
        let columns = batch * g.outPixels
        for c in 0..<g.channels { for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
            for n in 0..<batch { for oy in 0..<g.outHeight { for ox in 0..<g.outWidth {
                let iy = oy * g.strideH - g.padH + ky, ix = ox * g.strideW - g.padW + kx
                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                let expected: Float = inside ? x[((n * g.channels + c) * g.height + iy) * g.width + ix] : 0
                let row = (c * g.kernelH + ky) * g.kernelW + kx
                #expect(col[row * columns + (n * g.outHeight + oy) * g.outWidth + ox] == expected)
            } } }
        } } }
        // ⟨im2col(x), v⟩ = ⟨x, col2im(v)⟩ for a random v.
        let v = random(col.count, "v")
        var back = [Float](repeating: .nan, count: x.count)
        Im2Col.col2im(v, batch: batch, g, into: &back)
        var lhs = 0.0, rhs = 0.0, magnitude = 0.0
        for (a, b) in zip(col, v) { lhs += Double(a) * Double(b); magnitude += abs(Double(a) * Double(b)) }
        for (a, b) in zip(x, back) { rhs += Double(a) * Double(b) }
        #expect(abs(lhs - rhs) <= 1e-5 * magnitude)
    }

    @Test("Tensor: zero-filled, aligned, batch resizing within capacity") func tensor() {
        let t = Tensor(shape: [4, 3, 2])
        #expect(t.count == 24 && t.sampleSize == 6 && t.values.allSatisfy { $0 == 0 })
        #expect(Int(bitPattern: t.data) % 64 == 0)
        t.setBatch(2)
        #expect(t.shape == [2, 3, 2] && t.count == 12)
        t.setBatch(4)
        #expect(t.count == 24)
        let u = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        #expect(u.values == [1, 2, 3, 4])
    }
}
