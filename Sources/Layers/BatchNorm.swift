// BatchNorm.swift — batch normalisation over [F] (1-D) or [C, H, W] (2-D, per channel), as PyTorch's
// BatchNorm1d/2d: biased batch variance to normalise, unbiased variance in the running estimate,
// running = (1 − momentum)·running + momentum·batch. Training mode uses batch statistics; evaluation the running
// ones. Statistics are per rank unless a synchroniser is set (data-parallel training may install one).
import Tensor

/// Sums per-channel statistics across ranks (Train's BatchNormSync, for run.sync_batchnorm).
public protocol StatisticsSynchronizer: AnyObject {
    /// Replaces `values` (count elements) by their sum over all ranks of the group.
    func sum(_ values: UnsafeMutablePointer<Double>, count: Int)
}

public final class BatchNorm: Layer {
    public var name = "bn"
    public let momentum: Float, epsilon: Float
    public var synchronizer: StatisticsSynchronizer?
    private var channels = 0, spatial = 0
    private var gamma: ParameterSlot!, beta: ParameterSlot!
    private var runningMean: UnsafeMutablePointer<Float>!, runningVar: UnsafeMutablePointer<Float>!
    private var xhat: Tensor!
    /// Per channel: mean, 1/√(var + ε), and scratch sums (Double, 2·channels).
    private var mean: UnsafeMutablePointer<Float>!, invStd: UnsafeMutablePointer<Float>!
    private var sums: UnsafeMutablePointer<Double>!

    public init(momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.momentum = momentum; self.epsilon = epsilon
    }
    deinit { mean?.deallocate(); invStd?.deallocate(); sums?.deallocate() }

    public var summary: String { spatial == 1 ? "BatchNorm1D" : "BatchNorm2D" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        let s = shapes[0]
        guard s.count == 1 || s.count == 3 else {
            throw ShapeProblem("expects [features] or [channels, height, width], got \(show(s))")
        }
        channels = s[0]
        spatial = s.dropFirst().reduce(1, *)
        return s
    }

    public var parameterDecls: [ParameterDecl] {
        [ParameterDecl("gamma", [channels], .ones), ParameterDecl("beta", [channels], .zeros)]
    }
    public var stateDecls: [ParameterDecl] {
        [ParameterDecl("running_mean", [channels], .zeros), ParameterDecl("running_var", [channels], .ones)]
    }

    public func bind(parameters: [ParameterSlot], state: [UnsafeMutablePointer<Float>]) {
        gamma = parameters[0]; beta = parameters[1]
        runningMean = state[0]; runningVar = state[1]
    }

    public func allocate(maxBatch: Int) {
        xhat = Tensor(shape: [maxBatch, channels * spatial])
        mean?.deallocate(); invStd?.deallocate(); sums?.deallocate()
        mean = .allocate(capacity: channels); invStd = .allocate(capacity: channels)
        sums = .allocate(capacity: 2 * channels + 1)
    }

    /// What a rank with no samples in a training step does wherever this layer would synchronise
    /// (Model.synchronizeWithoutSamples): adds zeros to the sums, and in the forward also updates the running
    /// statistics from the global batch's, as the other ranks do.
    public func synchronizeWithoutSamples(forward: Bool) {
        guard let synchronizer else { return }
        sums.update(repeating: 0, count: 2 * channels + 1)
        synchronizer.sum(sums, count: 2 * channels + 1)
        if forward { useBatchStatistics() }
    }

    /// Visits the `spatial` contiguous elements of channel c in every sample.
    @inline(__always)
    private func forEachRun(batch: Int, channel c: Int, _ body: (Int) -> Void) {
        for s in 0..<batch { body((s * channels + c) * spatial) }
    }

    public func forward(_ inputs: [Tensor], into output: Tensor, _ context: PassContext) {
        let x = inputs[0].data, y = output.data, batch = inputs[0].batch
        if context.training {
            // Σx and Σx² per channel in Double (one pass; Double keeps the difference exact enough), plus the count.
            for c in 0..<channels {
                var s = 0.0, ss = 0.0
                forEachRun(batch: batch, channel: c) { o in
                    for i in 0..<spatial { let v = Double(x[o + i]); s += v; ss += v * v }
                }
                sums[c] = s; sums[channels + c] = ss
            }
            sums[2 * channels] = Double(batch * spatial)
            synchronizer?.sum(sums, count: 2 * channels + 1)
            useBatchStatistics()
        } else {
            for c in 0..<channels {
                mean[c] = runningMean[c]
                invStd[c] = 1 / (runningVar[c] + epsilon).squareRoot()
            }
        }
        let xh = xhat.data
        for c in 0..<channels {
            let (mu, inv, g, b) = (mean[c], invStd[c], gamma.value[c], beta.value[c])
            forEachRun(batch: batch, channel: c) { o in
                for i in 0..<spatial {
                    let v = (x[o + i] - mu) * inv
                    xh[o + i] = v
                    y[o + i] = g * v + b
                }
            }
        }
    }

    /// Mean and 1/√(var + ε) from the sums of the batch (Σx, Σx², count), and the running estimates updated.
    private func useBatchStatistics() {
        let m = sums[2 * channels]
        for c in 0..<channels {
            let mu = sums[c] / m
            let variance = max(sums[channels + c] / m - mu * mu, 0)
            mean[c] = Float(mu)
            invStd[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
            let unbiased = m > 1 ? variance * m / (m - 1) : variance
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * Float(mu)
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
        }
    }

    public func backward(_ inputs: [Tensor], output: Tensor, outputGradient: Tensor,
                         inputGradients: [Tensor?], _ context: PassContext) {
        let dy = outputGradient.data, xh = xhat.data, batch = inputs[0].batch
        for c in 0..<channels {
            var sdy = 0.0, sdyx = 0.0
            forEachRun(batch: batch, channel: c) { o in
                for i in 0..<spatial { sdy += Double(dy[o + i]); sdyx += Double(dy[o + i] * xh[o + i]) }
            }
            sums[c] = sdy; sums[channels + c] = sdyx
        }
        sums[2 * channels] = Double(batch * spatial)
        // The parameter gradients are this rank's sums (the gradient reduction adds the ranks); the input
        // gradient of synchronised BatchNorm needs the global sums.
        for c in 0..<channels { beta.gradient[c] = Float(sums[c]); gamma.gradient[c] = Float(sums[channels + c]) }
        guard let dxT = inputGradients[0] else { return }
        let dx = dxT.data
        if context.training {
            synchronizer?.sum(sums, count: 2 * channels + 1)
            let m = Float(sums[2 * channels])
            for c in 0..<channels {
                let k = gamma.value[c] * invStd[c] / m
                let (sdy, sdyx) = (Float(sums[c]), Float(sums[channels + c]))
                forEachRun(batch: batch, channel: c) { o in
                    for i in 0..<spatial { dx[o + i] = k * (m * dy[o + i] - sdy - xh[o + i] * sdyx) }
                }
            }
        } else {
            for c in 0..<channels {
                let k = gamma.value[c] * invStd[c]
                forEachRun(batch: batch, channel: c) { o in
                    for i in 0..<spatial { dx[o + i] = k * dy[o + i] }
                }
            }
        }
    }
}
