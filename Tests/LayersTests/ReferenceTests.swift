// ReferenceTests.swift — the BLAS-backed paths (Dense and Conv2D forward, and both backward products: the
// weight gradient and the input gradient) against naive loops written straight from the definitions, in Double.
//
// Tolerance: |blas − naive| ≤ 1e-5·Σ|terms| per element, where Σ|terms| is the sum of the magnitudes of the
// products that make up the element. A Float32 dot product of K terms has a rounding error bounded by about
// K·2⁻²⁴·Σ|terms| and in practice √K·6e-8·Σ|terms| (≤ 2e-6 for K ≤ 1000); 1e-5 leaves a margin while any wrong
// index or transpose gives errors of the order of the terms themselves.
import Testing
@testable import Layers
import Tensor

private func randomTensor(_ shape: [Int], _ name: String) -> Tensor {
    let t = Tensor(shape: shape)
    let r = RandomStream(seed: 11, name: name)
    for i in 0..<t.count { t[i] = r.normal(UInt64(i)) }
    return t
}

/// Accumulates Σ a·b and Σ|a·b| in Double.
private struct Dot {
    var sum = 0.0, magnitude = 0.0
    mutating func add(_ a: Float, _ b: Float) { let p = Double(a) * Double(b); sum += p; magnitude += abs(p) }
    func matches(_ v: Float) -> Bool { abs(Double(v) - sum) <= 1e-5 * magnitude + 1e-12 }
}

@Suite("BLAS paths against naive loops")
struct ReferenceTests {
    @Test("Dense forward, weight gradient, input gradient", arguments: [(128, 784, 64), (7, 33, 5), (1, 1, 1)])
    func dense(batch: Int, inputs: Int, outputs: Int) throws {
        let h = try Harness(Dense(outputs), inputs: [[inputs]], batch: batch)
        let x = h.inputs[0], W = h.parameters.data, b = h.parameters.data + outputs * inputs
        let dy = randomTensor([batch, outputs], "dy")
        h.forward()
        h.outputGradient.copy(from: dy)
        h.backward()
        for n in 0..<batch { for o in 0..<outputs {
            var d = Dot(); for i in 0..<inputs { d.add(x[n * inputs + i], W[o * inputs + i]) }
            d.add(b[o], 1)
            #expect(d.matches(h.output[n * outputs + o]), "y[\(n),\(o)]")
        } }
        for o in 0..<outputs { for i in 0..<inputs {
            var d = Dot(); for n in 0..<batch { d.add(dy[n * outputs + o], x[n * inputs + i]) }
            #expect(d.matches(h.gradients[o * inputs + i]), "dW[\(o),\(i)]")
        } }
        for n in 0..<batch { for i in 0..<inputs {
            var d = Dot(); for o in 0..<outputs { d.add(dy[n * outputs + o], W[o * inputs + i]) }
            #expect(d.matches(h.inputGradients[0]![n * inputs + i]), "dx[\(n),\(i)]")
        } }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var n: Int, c: Int, h: Int, w: Int, out: Int, k: Int, stride: Int, pad: Int
        var testDescription: String { "\(n)×\(c)×\(h)×\(w) → \(out) k\(k) s\(stride) p\(pad)" }
    }

    @Test("Conv2D forward, weight gradient, input gradient (direct convolution)", arguments: [
        Case(n: 16, c: 1, h: 28, w: 28, out: 6, k: 5, stride: 1, pad: 2),   // LeNet-5 conv1
        Case(n: 16, c: 6, h: 14, w: 14, out: 16, k: 5, stride: 1, pad: 0),  // LeNet-5 conv2
        Case(n: 3, c: 3, h: 9, w: 7, out: 4, k: 3, stride: 2, pad: 1),
        Case(n: 2, c: 2, h: 5, w: 5, out: 3, k: 3, stride: 3, pad: 2),
    ])
    func conv(_ p: Case) throws {
        let h = try Harness(Conv2D(p.out, kernel: p.k, stride: p.stride, padding: p.pad), inputs: [[p.c, p.h, p.w]], batch: p.n)
        let ho = (p.h + 2 * p.pad - p.k) / p.stride + 1, wo = (p.w + 2 * p.pad - p.k) / p.stride + 1
        let x = h.inputs[0], W = h.parameters.data, b = h.parameters.data + p.out * p.c * p.k * p.k
        let dy = randomTensor([p.n, p.out, ho, wo], "dy")
        h.forward()
        h.outputGradient.copy(from: dy)
        h.backward()
        func xi(_ n: Int, _ c: Int, _ iy: Int, _ ix: Int) -> Int? {
            iy < 0 || iy >= p.h || ix < 0 || ix >= p.w ? nil : ((n * p.c + c) * p.h + iy) * p.w + ix
        }
        func wi(_ o: Int, _ c: Int, _ ky: Int, _ kx: Int) -> Int { ((o * p.c + c) * p.k + ky) * p.k + kx }
        func yi(_ n: Int, _ o: Int, _ oy: Int, _ ox: Int) -> Int { ((n * p.out + o) * ho + oy) * wo + ox }
        // Forward: y[n,o,oy,ox] = b[o] + Σ_{c,ky,kx} W[o,c,ky,kx]·x[n,c,oy·s−p+ky,ox·s−p+kx]
        var worstFailures = 0
        for n in 0..<p.n { for o in 0..<p.out { for oy in 0..<ho { for ox in 0..<wo {
            var d = Dot(); d.add(b[o], 1)
            for c in 0..<p.c { for ky in 0..<p.k { for kx in 0..<p.k {
                if let i = xi(n, c, oy * p.stride - p.pad + ky, ox * p.stride - p.pad + kx) { d.add(W[wi(o, c, ky, kx)], x[i]) }
            } } }
            if !d.matches(h.output[yi(n, o, oy, ox)]) { worstFailures += 1 }
        } } } }
        #expect(worstFailures == 0, "forward: \(worstFailures) elements differ")
        // dW[o,c,ky,kx] = Σ_{n,oy,ox} dy[n,o,oy,ox]·x[n,c,…]
        var dwFailures = 0
        for o in 0..<p.out { for c in 0..<p.c { for ky in 0..<p.k { for kx in 0..<p.k {
            var d = Dot()
            for n in 0..<p.n { for oy in 0..<ho { for ox in 0..<wo {
                if let i = xi(n, c, oy * p.stride - p.pad + ky, ox * p.stride - p.pad + kx) { d.add(dy[yi(n, o, oy, ox)], x[i]) }
            } } }
            if !d.matches(h.gradients[wi(o, c, ky, kx)]) { dwFailures += 1 }
        } } } }
        #expect(dwFailures == 0, "weight gradient: \(dwFailures) elements differ")
        // dx[n,c,iy,ix] = Σ over outputs touching it of dy·W, accumulated by scattering.
        var dx = [Dot](repeating: Dot(), count: x.count)
        for n in 0..<p.n { for o in 0..<p.out { for oy in 0..<ho { for ox in 0..<wo {
            for c in 0..<p.c { for ky in 0..<p.k { for kx in 0..<p.k {
                if let i = xi(n, c, oy * p.stride - p.pad + ky, ox * p.stride - p.pad + kx) { dx[i].add(dy[yi(n, o, oy, ox)], W[wi(o, c, ky, kx)]) }
            } } }
        } } } }
        let dxFailures = (0..<x.count).filter { !dx[$0].matches(h.inputGradients[0]![$0]) }.count
        #expect(dxFailures == 0, "input gradient: \(dxFailures) elements differ")
    }

    @Test("MaxPool2D 2×2 fast path against a naive loop: odd sizes, ties, gradient routing", arguments: [(6, 6), (7, 5), (28, 28), (3, 2)])
    func maxPool2x2(h: Int, w: Int) throws {
        let harness = try Harness(MaxPool2D(2), inputs: [[3, h, w]], batch: 2)
        let x = harness.inputs[0]
        let r = RandomStream(seed: 5, name: "pool/ties")
        // Few distinct values: many windows hold ties, which must go to the first maximum in row-major order.
        for i in 0..<x.count { x[i] = Float(Int(r.uniform(UInt64(i)) * 3)) }
        let dy = randomTensor([2, 3, h / 2, w / 2], "pool/dy")
        harness.forward()
        harness.outputGradient.copy(from: dy)
        harness.backward()
        let (ho, wo) = (h / 2, w / 2)
        var expectedDx = [Float](repeating: 0, count: x.count)
        var failures = 0
        for plane in 0..<6 { for oy in 0..<ho { for ox in 0..<wo {
            var best = -Float.infinity, at = 0
            for iy in 2 * oy..<2 * oy + 2 { for ix in 2 * ox..<2 * ox + 2 where x[plane * h * w + iy * w + ix] > best {
                best = x[plane * h * w + iy * w + ix]; at = plane * h * w + iy * w + ix
            } }
            let o = plane * ho * wo + oy * wo + ox
            if harness.output[o] != best { failures += 1 }
            expectedDx[at] += dy[o]
        } } }
        #expect(failures == 0, "forward: \(failures) outputs differ")
        let dx = harness.inputGradients[0]!
        #expect((0..<x.count).allSatisfy { dx[$0] == expectedDx[$0] }, "gradient routed to the wrong element")
    }
}

