// Schedule.swift — learning-rate schedules as pure functions of (epoch, step): a resumed run recomputes the
// rate from its position and needs no scheduler state. Epochs count from 0, as PyTorch's schedulers.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Schedule: Equatable, Sendable, CustomStringConvertible {
    /// The base rate throughout.
    case constant
    /// base · factor^⌊epoch / every⌋ (StepLR).
    case step(every: Int, factor: Float)
    /// base · factor^(number of milestones ≤ epoch) (MultiStepLR); "halve the rate for the last 10 of 110
    /// epochs" is milestones [100], factor 0.5.
    case multiStep(milestones: [Int], factor: Float)
    /// min + (base − min)·(1 + cos(π·epoch/epochs))/2 (CosineAnnealingLR's closed form).
    case cosine(epochs: Int, minimum: Float)

    public var description: String {
        switch self {
        case .constant: "constant"
        case .step(let every, let factor): "step(every \(every) epochs × \(factor))"
        case .multiStep(let m, let factor): "multistep(\(m) × \(factor))"
        case .cosine(let epochs, let minimum): "cosine(\(epochs) epochs, min \(minimum))"
        }
    }
}

public struct LearningRate: Equatable, Sendable, CustomStringConvertible {
    public var base: Float
    public var schedule: Schedule
    /// Linear warm-up: the rate is scaled by (step + 1)/warmupSteps over the first `warmupSteps` steps.
    public var warmupSteps: Int

    public init(base: Float, schedule: Schedule = .constant, warmupSteps: Int = 0) {
        self.base = base; self.schedule = schedule; self.warmupSteps = warmupSteps
    }

    public var description: String {
        "\(base), \(schedule)" + (warmupSteps > 0 ? ", warm-up \(warmupSteps) steps" : "")
    }

    /// The rate for the step with 0-based `epoch` and run-wide 0-based `globalStep`.
    public func rate(epoch: Int, globalStep: Int) -> Float {
        var lr = base
        switch schedule {
        case .constant: break
        case .step(let every, let factor):
            lr *= pow(factor, epoch / max(every, 1))
        case .multiStep(let milestones, let factor):
            var passed = 0
            for m in milestones where m <= epoch { passed += 1 }
            lr *= pow(factor, passed)
        case .cosine(let epochs, let minimum):
            let t = Double(epoch) / Double(max(epochs, 1))   // periodic past `epochs`, as PyTorch
            lr = minimum + (base - minimum) * Float((1 + cos(Double.pi * t)) / 2)
        }
        if warmupSteps > 0 && globalStep < warmupSteps {
            lr *= Float(globalStep + 1) / Float(warmupSteps)
        }
        return lr
    }
}

/// factor^n by repeated multiplication, exactly as a scheduler that multiplies at each milestone.
private func pow(_ factor: Float, _ n: Int) -> Float {
    var r: Float = 1
    for _ in 0..<max(n, 0) { r *= factor }
    return r
}
