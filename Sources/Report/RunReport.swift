// RunReport.swift — the figures a training run leaves in <run>/plots/: loss and error against epoch, drawn from
// <run>/metrics.csv, each written to a temporary name and renamed so no figure is ever seen half-written.
import Foundation

/// Figures for one run directory.
public enum RunReport {
    /// Reads `<run>/metrics.csv` and writes `<run>/plots/loss.svg` (train and test loss against epoch) and
    /// `<run>/plots/error.svg` (train and test error in %), creating `plots/`; returns the paths written.
    /// When epochs repeat (a run resumed from an earlier checkpoint) the last row of each epoch is drawn.
    public static func write(runDirectory: String) throws -> [String] {
        let run = runDirectory.count > 1 && runDirectory.hasSuffix("/") ? String(runDirectory.dropLast()) : runDirectory
        let metrics = run + "/metrics.csv"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: metrics, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ReportError("\(run): no metrics.csv here; is this a run directory?")
        }
        let table = try MetricsTable.load(metrics)
        let rows = lastRowPerEpoch(table.rows)
        let name = URL(fileURLWithPath: run).standardizedFileURL.lastPathComponent

        let plots = run + "/plots"
        do {
            try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
        } catch {
            throw ReportError("\(plots): cannot create the directory (\(error.localizedDescription))")
        }
        let figures = [(plots + "/loss.svg", lossChart(rows, run: name)), (plots + "/error.svg", errorChart(rows, run: name))]
        for (path, chart) in figures { try writeAtomically(chart.svg(), to: path) }
        return figures.map(\.0)
    }

    /// Train and test loss against epoch (the train line joins the epochs where it was measured); the loss axis is logarithmic when the losses are positive and span
    /// more than two decades (training loss heading to zero stays readable).
    static func lossChart(_ rows: [EpochMetrics], run: String) -> LineChart {
        var chart = LineChart(title: "Loss — \(run)", xLabel: "epoch", yLabel: "loss")
        let epochs = rows.map { Double($0.epoch) }
        if let train = trainSeries(rows, \.trainLoss, \.batchLoss, scale: 1) { chart.series.append(train) }
        chart.series.append(.init("test", x: epochs, y: rows.map(\.testLoss)))
        let losses = chart.series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        if let lo = losses.min(), let hi = losses.max(), lo > 0, hi / lo > 100 { chart.yScale = .logarithmic }
        return chart
    }

    /// The training curve: the training set's evaluation where it was measured (epochs without it are skipped,
    /// not gaps), otherwise the running mean over each epoch's batches, labelled as such.
    static func trainSeries(_ rows: [EpochMetrics], _ measured: KeyPath<EpochMetrics, Double?>,
                            _ running: KeyPath<EpochMetrics, Double?>, scale: Double) -> LineChart.Series? {
        for (key, label) in [(measured, "train"), (running, "train (batch mean)")] {
            let points = rows.compactMap { m in m[keyPath: key].map { (Double(m.epoch), $0 * scale) } }
            if !points.isEmpty { return .init(label, x: points.map(\.0), y: points.map(\.1)) }
        }
        return nil
    }

    /// Train and test error in percent against epoch, the axis starting at 0 %.
    static func errorChart(_ rows: [EpochMetrics], run: String) -> LineChart {
        var chart = LineChart(title: "Error — \(run)", xLabel: "epoch", yLabel: "error (%)")
        let epochs = rows.map { Double($0.epoch) }
        if let train = trainSeries(rows, \.trainError, \.batchError, scale: 100) { chart.series.append(train) }
        chart.series.append(.init("test", x: epochs, y: rows.map { $0.testError * 100 }))
        let top = chart.series.flatMap { $0.points.map(\.y) }.filter(\.isFinite).max() ?? 0
        chart.yRange = 0...max(top, 1)
        return chart
    }

    /// The rows sorted by epoch, keeping only the last row written for each epoch.
    static func lastRowPerEpoch(_ rows: [EpochMetrics]) -> [EpochMetrics] {
        var byEpoch: [Int: EpochMetrics] = [:]
        for r in rows { byEpoch[r.epoch] = r }
        return byEpoch.keys.sorted().map { byEpoch[$0]! }
    }

    /// Writes `text` to a temporary file beside `path`, then renames it over `path` (atomic on one file system).
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw ReportError("\(temporary): cannot write the file")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReportError("\(path): cannot rename \(temporary) to it (\(reason))")
        }
    }
}
