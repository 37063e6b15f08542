// RunReportTests.swift — the figures of a run directory: both written under plots/ as well-formed SVG with the
// train and test series, no temporary files left, and the messages for a directory that is not a run.
import Foundation
import Testing
@testable import Report

private func temporaryRun() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func metrics(epochs: Int, train: Bool = true) -> String {
    MetricsTable(rows: (1...epochs).map { e in
        let t = Double(e)
        return EpochMetrics(epoch: e, step: e * 100, lr: 0.1, trainLoss: train ? 2 * exp(-t / 3) : nil,
                            trainError: train ? 0.8 * exp(-t / 3) : nil, testLoss: 0.5 + 1.5 * exp(-t / 4),
                            testError: 0.1 + 0.7 * exp(-t / 4), seconds: 10, samplesPerSecond: 6000)
    }).csv()
}

@Suite("Run report")
struct RunReportTests {
    @Test func writesBothFigures() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        try metrics(epochs: 30).write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)

        let written = try RunReport.write(runDirectory: run)
        #expect(written == [run + "/plots/loss.svg", run + "/plots/error.svg"])
        for path in written {
            let svg = try String(contentsOfFile: path, encoding: .utf8)
            #expect(xmlProblem(svg) == nil, "\(path): \(xmlProblem(svg) ?? "")")
            let doc = SVGDocument(svg)
            #expect(doc.all("path", class: "line").count == 2)
            #expect(doc.all("text", class: "legend-name").map(\.text) == ["train", "test"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: run + "/plots").sorted() == ["error.svg", "loss.svg"])

        let error = SVGDocument(try String(contentsOfFile: written[1], encoding: .utf8))
        #expect(error.tickLabels("y").first == "0")
        #expect(error.all("text", class: "y-label").first?.text == "error (%)")

        #expect(try RunReport.write(runDirectory: run + "/") == written, "a trailing slash names the same files")
    }

    @Test func withoutTrainValuesOnlyTest() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        try metrics(epochs: 5, train: false).write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        for path in try RunReport.write(runDirectory: run) {
            let doc = SVGDocument(try String(contentsOfFile: path, encoding: .utf8))
            #expect(doc.all("text", class: "legend-name").map(\.text) == ["test"])
        }
    }

    @Test func headerOnlyDrawsNoData() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        try (MetricsTable.header + "\n").write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        for path in try RunReport.write(runDirectory: run) {
            let svg = try String(contentsOfFile: path, encoding: .utf8)
            #expect(xmlProblem(svg) == nil)
            #expect(SVGDocument(svg).all("text", class: "no-data").count == 1)
        }
    }

    @Test func lossAxisTurnsLogarithmicOverDecades() {
        let rows = (1...50).map { e in
            EpochMetrics(epoch: e, step: e, lr: 0.1, trainLoss: pow(10, -Double(e) / 10), trainError: 0,
                         testLoss: 1, testError: 0.1, seconds: 1, samplesPerSecond: 1)
        }
        #expect(RunReport.lossChart(rows, run: "r").yScale == .logarithmic)
        #expect(RunReport.lossChart(Array(rows.prefix(5)), run: "r").yScale == .linear)
    }

    @Test func resumedRunsDrawTheLastRowOfEachEpoch() {
        let row = { (e: Int, loss: Double) in
            EpochMetrics(epoch: e, step: e, lr: 0.1, trainLoss: nil, trainError: nil, testLoss: loss, testError: 0.1,
                         seconds: 1, samplesPerSecond: 1)
        }
        let kept = RunReport.lastRowPerEpoch([row(1, 3), row(2, 2), row(3, 9), row(3, 1.5), row(4, 1)])
        #expect(kept.map(\.epoch) == [1, 2, 3, 4] && kept[2].testLoss == 1.5)
    }

    @Test func notARunDirectory() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        #expect(throws: ReportError("\(run): no metrics.csv here; is this a run directory?")) {
            try RunReport.write(runDirectory: run)
        }
        #expect(!FileManager.default.fileExists(atPath: run + "/plots"))
        try "epoch,oops\n".write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        #expect(throws: ReportError("\(run)/metrics.csv line 1: unknown header epoch,oops; expected \(MetricsTable.header)")) {
            try RunReport.write(runDirectory: run)
        }
    }
}
