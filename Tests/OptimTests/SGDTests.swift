// SGDTests.swift — the optimiser against PyTorch's torch.optim.SGD over four steps of fixed gradients, for
// momentum, Nesterov, dampening, L2 weight decay and an L1 penalty (values from pytorch_reference.py), and
// against updates computed by hand.
//
// Tolerance: 1e-6 absolute. Both sides compute the same Float32 formulas; only the order of the two penalty
// additions differs (g + λ₁·sign(p) + λ₂·p), which moves results by at most an ulp or two of values ≤ 2.
import Testing
@testable import Optim

private let p0: [Float] = [1.0, -0.5, 0.0, 2.0]
private let grads: [[Float]] = [[0.5, -1.0, 0.25, 0.0], [0.1, 0.2, -0.3, 0.4], [-0.7, 0.0, 0.6, -0.2], [0.3, 0.3, 0.3, 0.3]]

/// Runs four steps and returns the parameters after each.
private func run(_ sgd: SGD, lr: Float) -> [[Float]] {
    var p = p0, b = [Float](repeating: .nan, count: 4)   // NaN: the first step must not read the buffer
    var rows: [[Float]] = []
    for (step, g) in grads.enumerated() {
        b.withUnsafeMutableBufferPointer { buffer in
            sgd.update(parameters: &p, gradients: g, momentumBuffer: sgd.hasState ? buffer.baseAddress : nil,
                       count: 4, lr: lr, firstStep: step == 0)
        }
        rows.append(p)
    }
    return rows
}

private func expectClose(_ a: [[Float]], _ b: [[Double]], _ what: String) {
    for (step, (x, y)) in zip(a, b).enumerated() {
        for i in 0..<4 { #expect(abs(Double(x[i]) - y[i]) < 1e-6, "\(what) step \(step + 1) element \(i): \(x[i]) vs PyTorch \(y[i])") }
    }
}

@Suite("SGD")
struct SGDTests {
    @Test("plain SGD") func plain() throws {
        expectClose(run(try SGD(), lr: 0.1), [[0.949999988079071, -0.4000000059604645, -0.02500000037252903, 2.0], [0.9399999976158142, -0.42000001668930054, 0.005000001285225153, 1.9600000381469727], [1.0099999904632568, -0.42000001668930054, -0.055000003427267075, 1.9800000190734863], [0.9799999594688416, -0.45000001788139343, -0.08500000834465027, 1.9500000476837158]], "plain")
    }

    @Test("momentum 0.9") func momentum() throws {
        expectClose(run(try SGD(momentum: 0.9), lr: 0.1), [[0.949999988079071, -0.4000000059604645, -0.02500000037252903, 2.0], [0.8949999809265137, -0.33000001311302185, -0.017499998211860657, 1.9600000381469727], [0.9154999852180481, -0.2670000195503235, -0.07075000554323196, 1.944000005722046], [0.9039499759674072, -0.2403000295162201, -0.14867500960826874, 1.8996000289916992]], "momentum")
    }

    @Test("Nesterov 0.9") func nesterov() throws {
        expectClose(run(try SGD(momentum: 0.9, nesterov: true), lr: 0.1), [[0.9049999713897705, -0.3100000023841858, -0.04749999940395355, 2.0], [0.8454999923706055, -0.2669999897480011, -0.010749994777143002, 1.9240000247955322], [0.9339500069618225, -0.2102999985218048, -0.11867499351501465, 1.9296000003814697], [0.8935549855232239, -0.21626999974250793, -0.21880750358104706, 1.8596400022506714]], "nesterov")
    }

    @Test("momentum 0.5 with dampening 0.1") func dampening() throws {
        expectClose(run(try SGD(momentum: 0.5, dampening: 0.1), lr: 0.1), [[0.949999988079071, -0.4000000059604645, -0.02500000037252903, 2.0], [0.9160000085830688, -0.36800000071525574, -0.010499998927116394, 1.9639999866485596], [0.9620000123977661, -0.35199999809265137, -0.0572500005364418, 1.9639999866485596], [0.9580000042915344, -0.3709999918937683, -0.10762500762939453, 1.937000036239624]], "dampening")
    }

    @Test("momentum with L2 weight decay") func l2() throws {
        expectClose(run(try SGD(momentum: 0.9, weightDecay: 0.01), lr: 0.1), [[0.9490000009536743, -0.3995000123977661, -0.02500000037252903, 1.9980000257492065], [0.8921509981155396, -0.32865050435066223, -0.01747499778866768, 1.9542020559310913], [0.9100947380065918, -0.2645573019981384, -0.0706850215792656, 1.9328296184539795], [0.895334005355835, -0.23660887777805328, -0.1485033631324768, 1.8816616535186768]], "l2")
    }

    @Test("Nesterov with L2 and L1") func l1() throws {
        expectClose(run(try SGD(momentum: 0.9, nesterov: true, weightDecay: 0.001, l1: 0.02), lr: 0.05), [[0.9505050182342529, -0.40305250883102417, -0.023749999701976776, 1.9979100227355957], [0.9179142117500305, -0.3787839710712433, -0.003472740761935711, 1.9569292068481445], [0.9585380554199219, -0.34692445397377014, -0.05472395569086075, 1.9559504985809326], [0.9340497851371765, -0.34573495388031006, -0.1013450026512146, 1.9164718389511108]], "nesterov_l2_l1")
    }

    /// By hand, p = 1, g = 0.5 twice, lr 0.1, μ 0.9:
    ///   momentum: b₁ = 0.5, p₁ = 0.95; b₂ = 0.45 + 0.5 = 0.95, p₂ = 0.95 − 0.095 = 0.855
    ///   Nesterov: b₁ = 0.5, d₁ = 0.5 + 0.45 = 0.95, p₁ = 0.905; b₂ = 0.95, d₂ = 0.5 + 0.855 = 1.355, p₂ = 0.7695
    ///   L1 0.1, no momentum, p = 0.02, g = 0: p₁ = 0.02 − 0.1·0.1 = 0.01, p₂ = 0.0; at p = 0, sign 0: stays 0.
    @Test("hand-computed updates") func byHand() throws {
        for (sgd, expected) in [(try SGD(momentum: 0.9), [0.95, 0.855]), (try SGD(momentum: 0.9, nesterov: true), [0.905, 0.7695])] {
            var p: [Float] = [1], b: [Float] = [0]
            var seen: [Float] = []
            for step in 0..<2 {
                sgd.update(parameters: &p, gradients: [0.5], momentumBuffer: &b, count: 1, lr: 0.1, firstStep: step == 0)
                seen.append(p[0])
            }
            #expect(abs(seen[0] - Float(expected[0])) < 1e-6 && abs(seen[1] - Float(expected[1])) < 1e-6, "\(sgd): \(seen)")
        }
        var p: [Float] = [0.02, 0]
        let l1 = try SGD(l1: 0.1)
        for _ in 0..<2 { l1.update(parameters: &p, gradients: [0, 0], momentumBuffer: nil, count: 2, lr: 0.1, firstStep: false) }
        #expect(abs(p[0]) < 1e-8 && p[1] == 0)
    }

    @Test("a slice update equals the same elements of a whole update (each rank updates its shard)") func shards() throws {
        let sgd = try SGD(momentum: 0.9, nesterov: true, weightDecay: 1e-3)
        var whole = p0, wb = [Float](repeating: 0, count: 4)
        var left = Array(p0[0..<1]), right = Array(p0[1..<4]), lb: [Float] = [0], rb: [Float] = [0, 0, 0]
        for (step, g) in grads.enumerated() {
            sgd.update(parameters: &whole, gradients: g, momentumBuffer: &wb, count: 4, lr: 0.1, firstStep: step == 0)
            sgd.update(parameters: &left, gradients: Array(g[0..<1]), momentumBuffer: &lb, count: 1, lr: 0.1, firstStep: step == 0)
            sgd.update(parameters: &right, gradients: Array(g[1..<4]), momentumBuffer: &rb, count: 3, lr: 0.1, firstStep: step == 0)
        }
        #expect(whole == left + right)
    }

    @Test("invalid settings are refused with a message") func invalid() {
        #expect(throws: SGD.ConfigurationError.self) { try SGD(nesterov: true) }
        #expect(throws: SGD.ConfigurationError.self) { try SGD(momentum: 0.9, dampening: 0.1, nesterov: true) }
        #expect(throws: SGD.ConfigurationError.self) { try SGD(weightDecay: -1) }
        #expect(throws: SGD.ConfigurationError.self) { try SGD(momentum: -0.1) }
    }
}
