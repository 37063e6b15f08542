// GradientCheck.swift — finite-difference checks of a layer's backward against its forward (the definition).
//
// The scalar checked is L = Σᵢ rᵢ·yᵢ for a fixed random projection r, so ∂L/∂y = r is fed to the backward and
// every analytic ∂L/∂x and ∂L/∂θ is compared with the central difference (L(θ + h) − L(θ − h)) / 2h, L summed
// in Double.
//
// Tolerance: |analytic − numeric| ≤ 2e-3·G + 1e-2·|numeric|, G = the largest analytic gradient of the group.
// Why: the forward runs in Float32, so L carries a rounding error of about 1e-7·Σ|rᵢyᵢ| (≈ 1e-6 here); divided
// by 2h = 2e-2 that is ≈ 5e-5 absolute. The truncation error of the central difference is h²/6·|L'''| ≈ 2e-5
// for the smooth layers at h = 1e-2. Both sit well under 2e-3·G for gradients of order 0.1–10, while a wrong
// backward (a dropped term, a wrong index, a wrong transpose) moves elements by a sizeable fraction of G.
// Non-smooth layers (ReLU, max-pooling, hinge, L1) are checked on inputs kept at least 0.05 away from their
// kinks, so that x ± h never crosses one.
import Testing
@testable import Layers
import Tensor

/// A layer bound to its own small flat vectors, for testing outside a model.
final class Harness {
    let layer: Layer
    let inputs: [Tensor]
    let output: Tensor
    let outputGradient: Tensor
    let inputGradients: [Tensor?]
    let parameters: FlatVector
    let gradients: FlatVector
    let state: FlatVector
    var context: PassContext

    init(_ layer: Layer, inputs shapes: [[Int]], batch: Int, seed: UInt64 = 1, context: PassContext = PassContext(training: true, seed: 7, step: 3)) throws {
        self.layer = layer
        self.context = context
        let out = try layer.configure(inputs: shapes)
        let decls = layer.parameterDecls, stateDecls = layer.stateDecls
        parameters = FlatVector(count: decls.map(\.count).reduce(0, +))
        gradients = FlatVector(count: parameters.count)
        state = FlatVector(count: stateDecls.map(\.count).reduce(0, +))
        var offset = 0, slots: [ParameterSlot] = []
        let rng = RandomStream(seed: seed, name: "harness/params")
        for d in decls {
            slots.append(ParameterSlot(value: parameters.data + offset, gradient: gradients.data + offset, count: d.count))
            offset += d.count
        }
        for i in 0..<parameters.count { parameters[i] = 0.5 + rng.normal(UInt64(i)) * 0.5 }
        var stateOffset = 0, stateSlots: [UnsafeMutablePointer<Float>] = []
        for d in stateDecls {
            stateSlots.append(state.data + stateOffset)
            (state.data + stateOffset).update(repeating: d.initial.isOnes ? 1 : 0, count: d.count)
            stateOffset += d.count
        }
        layer.bind(parameters: slots, state: stateSlots)
        layer.allocate(maxBatch: batch)
        inputs = shapes.map { Tensor(shape: [batch] + $0) }
        output = Tensor(shape: [batch] + out)
        outputGradient = Tensor(shape: [batch] + out)
        inputGradients = shapes.map { Tensor(shape: [batch] + $0) }
        let xr = RandomStream(seed: seed, name: "harness/inputs")
        var k: UInt64 = 0
        for t in inputs { for i in 0..<t.count { t[i] = xr.normal(k); k += 1 } }
    }

    func forward() { layer.forward(inputs, into: output, context) }

    func backward() {
        layer.backward(inputs, output: output, outputGradient: outputGradient, inputGradients: inputGradients, context)
    }
}

/// The worst element of one gradient group (an input or all parameters).
struct GroupResult: CustomStringConvertible {
    var name: String
    var worstExcess = -Double.infinity   // max over elements of |a − n| − tolerance; > 0 means failure
    var worstAt = -1
    var analytic = 0.0, numeric = 0.0, scale = 0.0
    var passed: Bool { worstExcess <= 0 }
    var description: String {
        "\(name): \(passed ? "ok" : "FAILED") worst element \(worstAt): analytic \(analytic) numeric \(numeric) (scale \(scale))"
    }
}

enum Sabotage { case none, input(Int), parameter(Int) }

/// Checks every input and every parameter of the harness's layer. `sabotage` corrupts one gradient element
/// after the backward, to prove the check catches a wrong backward.
func gradientCheck(_ h: Harness, h step: Float = 1e-2, sabotage: Sabotage = .none) -> [GroupResult] {
    let r = RandomStream(seed: 99, name: "harness/projection")
    h.forward()
    for i in 0..<h.outputGradient.count { h.outputGradient[i] = r.normal(UInt64(i)) }
    h.backward()
    switch sabotage {
    case .none: break
    case .input(let k):
        let g = h.inputGradients[k]!
        let big = (0..<g.count).map { abs(g[$0]) }.max()!
        g[g.count / 2] += 0.05 * big + 1e-3
    case .parameter(let k):
        let big = (0..<h.gradients.count).map { abs(h.gradients[$0]) }.max()!
        h.gradients[k] += 0.05 * big + 1e-3
    }
    let analyticInputs = h.inputGradients.map { $0!.values }
    let analyticParams = h.gradients.values

    func loss() -> Double {
        h.forward()
        var s = 0.0
        for i in 0..<h.output.count { s += Double(h.outputGradient[i]) * Double(h.output[i]) }
        return s
    }
    func check(_ name: String, _ analytic: [Float], _ at: UnsafeMutablePointer<Float>) -> GroupResult {
        var result = GroupResult(name: name)
        let scale = Double(analytic.map { abs($0) }.max() ?? 0)
        result.scale = scale
        for j in 0..<analytic.count {
            let saved = at[j]
            at[j] = saved + step; let up = loss()
            at[j] = saved - step; let down = loss()
            at[j] = saved
            let numeric = (up - down) / Double(2 * step)
            let a = Double(analytic[j])
            let excess = abs(a - numeric) - (2e-3 * scale + 1e-2 * abs(numeric))
            if excess > result.worstExcess { result.worstExcess = excess; result.worstAt = j; result.analytic = a; result.numeric = numeric }
        }
        return result
    }
    var results: [GroupResult] = []
    for (k, t) in h.inputs.enumerated() { results.append(check("input \(k)", analyticInputs[k], t.data)) }
    if h.parameters.count > 0 { results.append(check("parameters", analyticParams, h.parameters.data)) }
    return results
}

/// Asserts the check passes, and that it fails when each gradient group is sabotaged in turn.
func expectGradientsCorrect(_ make: () throws -> Harness, h step: Float = 1e-2,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
    let clean = gradientCheck(try make(), h: step)
    for g in clean { #expect(g.passed, "\(g)", sourceLocation: sourceLocation) }
    let inputCount = try make().inputs.count
    for k in 0..<inputCount {
        let broken = gradientCheck(try make(), h: step, sabotage: .input(k))
        #expect(!broken[k].passed, "sabotaged gradient of input \(k) was not caught", sourceLocation: sourceLocation)
    }
    let h = try make()
    if h.parameters.count > 0 {
        let broken = gradientCheck(h, h: step, sabotage: .parameter(h.parameters.count / 3))
        #expect(!broken.last!.passed, "sabotaged parameter gradient was not caught", sourceLocation: sourceLocation)
    }
}

/// Replaces every input value by one at least `gap` away from every kink at 0: sign · (gap + |x|).
func keepAwayFromZero(_ h: Harness, gap: Float = 0.1) {
    for t in h.inputs { for i in 0..<t.count { let v = t[i]; t[i] = (v < 0 ? -1 : 1) * (gap + abs(v)) } }
}

/// Fills the inputs with distinct values spaced `gap` apart in random order (no ties for max-pooling).
func distinctValues(_ h: Harness, gap: Float = 0.05) {
    for t in h.inputs {
        let perm = RandomStream(seed: 5, name: "distinct").permutation(t.count)
        for i in 0..<t.count { t[i] = (Float(perm[i]) - Float(t.count) / 2) * gap }
    }
}
