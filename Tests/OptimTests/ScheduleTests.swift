// ScheduleTests.swift — learning-rate schedules against PyTorch's StepLR, MultiStepLR and CosineAnnealingLR
// over 12 epochs (values from pytorch_reference.py), and the linear warm-up.
import Testing
@testable import Optim

private func rates(_ lr: LearningRate, epochs: Int = 12) -> [Float] {
    (0..<epochs).map { lr.rate(epoch: $0, globalStep: 1_000_000) }
}

private func expectClose(_ a: [Float], _ b: [Double]) {
    for (x, y) in zip(a, b) { #expect(abs(Double(x) - y) < 1e-7 + 1e-6 * y, "\(a) vs PyTorch \(b)") }
}

@Suite("Learning-rate schedules")
struct ScheduleTests {
    @Test func constant() { #expect(rates(LearningRate(base: 0.1)).allSatisfy { $0 == 0.1 }) }

    @Test func step() {
        expectClose(rates(LearningRate(base: 0.1, schedule: .step(every: 3, factor: 0.5))),
                    [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125])
    }

    @Test func multiStep() {
        expectClose(rates(LearningRate(base: 0.1, schedule: .multiStep(milestones: [4, 9], factor: 0.1))),
                    [0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001])
    }

    @Test func cosine() {
        expectClose(rates(LearningRate(base: 0.1, schedule: .cosine(epochs: 10, minimum: 0.001))),
                    [0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505, 0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004, 0.001, 0.0034227024433899004])
    }

    @Test("the seed report's 'halve the rate for the last 10 of 110 epochs'") func seedSchedule() {
        let lr = LearningRate(base: 0.01, schedule: .multiStep(milestones: [100], factor: 0.5))
        #expect(lr.rate(epoch: 99, globalStep: 0) == 0.01 && lr.rate(epoch: 100, globalStep: 0) == 0.005 && lr.rate(epoch: 109, globalStep: 0) == 0.005)
    }

    @Test("linear warm-up over the first steps, then the schedule") func warmup() {
        let lr = LearningRate(base: 0.1, schedule: .step(every: 1, factor: 0.5), warmupSteps: 4)
        #expect((0..<5).map { lr.rate(epoch: 0, globalStep: $0) } == [0.025, 0.05, 0.075, 0.1, 0.1])
        #expect(abs(lr.rate(epoch: 1, globalStep: 2) - 0.0375) < 1e-9)
    }
}
