// AxisTests.swift — tick values and labels: nice linear steps, compact labels (1k, 1M, 0.001, 1e-5), degenerate
// ranges, whole-number axes.
import Foundation
import Testing
@testable import Report

@Suite("Axis ticks and labels")
struct AxisTests {
    @Test func compactLabels() {
        #expect(Axis.compact(0, step: nil) == "0")
        #expect(Axis.compact(1000, step: nil) == "1k")
        #expect(Axis.compact(10_000, step: nil) == "10k")
        #expect(Axis.compact(1_000_000, step: nil) == "1M")
        #expect(Axis.compact(2_500_000, step: nil) == "2.5M")
        #expect(Axis.compact(3e9, step: nil) == "3G")
        #expect(Axis.compact(0.001, step: nil) == "0.001")
        #expect(Axis.compact(1e-5, step: nil) == "1e-5")
        #expect(Axis.compact(1500, step: 500) == "1.5k")
        #expect(Axis.compact(500, step: 500) == "500")
        #expect(Axis.compact(0.30000000000000004, step: 0.1) == "0.3")
        #expect(Axis.compact(-2, step: 1) == "-2")
        #expect(Axis.compact(61_706, step: nil) == "61.7k")
    }

    @Test func niceSteps() {
        #expect(Axis.niceStep(0.13) == 0.1)
        #expect(Axis.niceStep(0.26) == 0.2)
        #expect(Axis.niceStep(380) == 500)
        #expect(Axis.niceStep(8) == 10)
    }

    @Test func degenerateRanges() throws {
        let flat = try #require(Axis.make(values: [3, 3], scale: .linear, range: nil, targetTicks: 5))
        #expect(flat.lower < 3 && flat.upper > 3)
        let zero = try #require(Axis.make(values: [0], scale: .linear, range: nil, targetTicks: 5))
        #expect(zero.lower == 0 && zero.upper >= 1)
        let decade = try #require(Axis.make(values: [100], scale: .logarithmic, range: nil, targetTicks: 5))
        #expect(decade.lower <= 100 && decade.upper > 100)
        #expect(Axis.make(values: [.nan, -1], scale: .logarithmic, range: nil, targetTicks: 5) == nil)
    }

    @Test func wholeNumbersGetWholeTicks() {
        let one = SVGDocument(LineChart(title: "epoch 1", series: [.init("test", x: [1], y: [0.42])]).svg())
        #expect(one.tickLabels("x") == ["0", "1", "2"])
        let three = SVGDocument(LineChart(title: "3 epochs", series: [.init("test", x: [1, 2, 3], y: [3, 2, 1])]).svg())
        #expect(three.tickLabels("x").allSatisfy { Int($0) != nil }, "\(three.tickLabels("x"))")
    }
}
