// SGD.swift — stochastic gradient descent with momentum or Nesterov momentum, L2 weight decay and an L1
// penalty, exactly as torch.optim.SGD defines them, over a contiguous slice of the flat vectors (each rank
// updates only the slice it owns).
//
// For each element, with g the gradient of the loss:
//     g ← g + λ₂·p + λ₁·sign(p)                  (L2 as PyTorch's weight_decay; L1 subgradient, sign(0) = 0)
//     b ← g                        on the first step
//     b ← μ·b + (1 − τ)·g          afterwards    (τ = dampening)
//     d ← g + μ·b  (Nesterov)  or  d ← b         (μ > 0),   d ← g  (μ = 0)
//     p ← p − η·d

public struct SGD: Equatable, Sendable, CustomStringConvertible {
    public var momentum: Float
    public var dampening: Float
    public var nesterov: Bool
    /// λ₂: adds λ₂·p to the gradient (the gradient of λ₂/2·‖p‖²).
    public var weightDecay: Float
    /// λ₁: adds λ₁·sign(p) to the gradient (a subgradient of λ₁·‖p‖₁).
    public var l1: Float

    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0, l1: Float = 0) throws {
        guard momentum >= 0, momentum < 1 || momentum == 1 else {
            throw ConfigurationError(description: "momentum must be in [0, 1], got \(momentum)")
        }
        guard weightDecay >= 0, l1 >= 0 else {
            throw ConfigurationError(description: "weight decay and L1 must be ≥ 0, got \(weightDecay) and \(l1)")
        }
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw ConfigurationError(description: "Nesterov momentum needs momentum > 0 and dampening = 0")
        }
        self.momentum = momentum; self.dampening = dampening; self.nesterov = nesterov
        self.weightDecay = weightDecay; self.l1 = l1
    }

    public var description: String {
        var s = "SGD(momentum \(momentum)\(nesterov ? ", Nesterov" : "")"
        if dampening != 0 { s += ", dampening \(dampening)" }
        if weightDecay != 0 { s += ", L2 \(weightDecay)" }
        if l1 != 0 { s += ", L1 \(l1)" }
        return s + ")"
    }

    /// Whether the optimiser keeps a momentum buffer (one Float per parameter).
    public var hasState: Bool { momentum != 0 }

    /// One update of `count` parameters. `momentumBuffer` may be nil only when `hasState` is false.
    /// `firstStep` is true on the run's first update (PyTorch initialises the buffer with the gradient).
    public func update(parameters p: UnsafeMutablePointer<Float>, gradients grad: UnsafePointer<Float>,
                       momentumBuffer b: UnsafeMutablePointer<Float>?, count: Int, lr: Float, firstStep: Bool) {
        let (l2, l1) = (weightDecay, self.l1)
        // Without penalties the loops read the gradient alone: the penalty terms would cost about a third of a
        // bandwidth-bound update for nothing.
        if l2 == 0 && l1 == 0 {
            apply(p, b, count: count, lr: lr, firstStep: firstStep) { i, _ in grad[i] }
        } else {
            apply(p, b, count: count, lr: lr, firstStep: firstStep) { i, w in grad[i] + l2 * w + l1 * sign(w) }
        }
    }

    /// The update's loops, given g(i, p[i]), the gradient with its penalties.
    @inline(__always)
    private func apply(_ p: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>?, count: Int, lr: Float,
                       firstStep: Bool, _ gradient: (Int, Float) -> Float) {
        let (mu, keep) = (momentum, 1 - dampening)
        guard let b, mu != 0 else {
            for i in 0..<count {
                let w = p[i]
                p[i] = w - lr * gradient(i, w)
            }
            return
        }
        switch (nesterov, firstStep) {
        case (false, true):
            for i in 0..<count {
                let w = p[i], g = gradient(i, w)
                b[i] = g
                p[i] = w - lr * g
            }
        case (false, false):
            for i in 0..<count {
                let w = p[i], g = gradient(i, w)
                let v = mu * b[i] + keep * g
                b[i] = v
                p[i] = w - lr * v
            }
        case (true, true):
            for i in 0..<count {
                let w = p[i], g = gradient(i, w)
                b[i] = g
                p[i] = w - lr * (g + mu * g)
            }
        case (true, false):
            for i in 0..<count {
                let w = p[i], g = gradient(i, w)
                let v = mu * b[i] + keep * g
                b[i] = v
                p[i] = w - lr * (g + mu * v)
            }
        }
    }
}

/// sign(x) ∈ {−1, 0, 1}, branch-free so the update loops vectorise.
@inline(__always)
func sign(_ x: Float) -> Float {
    (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)
}
