// SweepReport.swift — `descent report SWEEP_DIR`: the figures a sweep exists for, from results.csv and the runs'
// metrics. capacity.svg: train and test error against parameter count (log x; means over the runs of equal size,
// e.g. seeds, with their range shaded), with n·K and the smallest model that fits its training set exactly
// marked; loss.svg: the same for the losses; epochs.svg (when the grid varies a corruption or label noise):
// training error against epoch, one line per value; results.md: the table in Markdown.
import Foundation
import Report

public enum SweepReport {
    /// Writes the figures and the table into `directory`; returns their paths.
    public static func write(directory: String, threshold: Double?) throws -> [String] {
        let csv = directory + "/results.csv"
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else { throw SweepError("\(csv): no such file (is \(directory) a sweep directory?)") }
        let lines = text.split(separator: "\n").map(ResultsTable.fields)
        guard let header = lines.first, lines.count > 1 else { throw SweepError("\(csv): no results yet") }
        let fixed = Array(ResultsTable.fixedColumns.dropFirst())
        guard header.first == "run", header.count >= ResultsTable.fixedColumns.count, Array(header.suffix(fixed.count)) == fixed else {
            throw SweepError("\(csv) line 1: the header is '\(header.joined(separator: ","))', not a sweep's ('run', the grid keys, then \(fixed.joined(separator: ",")))")
        }
        try ResultsTable.check(text, of: csv, gridKeys: Array(header.dropFirst().dropLast(fixed.count)))
        let rows = Array(lines.dropFirst())
        func column(_ name: String) -> [Double] {
            guard let i = header.firstIndex(of: name) else { return [] }
            return rows.map { Double($0[i]) ?? .nan }
        }
        let name = URL(fileURLWithPath: directory).lastPathComponent
        let parameters = column("parameters")
        var written: [String] = []
        for (file, what, train, test) in [("capacity.svg", "error (%)", "train_error", "test_error"), ("loss.svg", "loss", "train_loss", "test_loss")] {
            let scale = what.hasPrefix("error") ? 100.0 : 1.0
            var chart = LineChart(title: "\(what.hasPrefix("error") ? "Error" : "Loss") against model size — \(name)",
                                  xLabel: "parameters", yLabel: what, xScale: .logarithmic)
            for (label, key) in [("train", train), ("test", test)] {
                let groups = groupBy(parameters, column(key))
                let several = groups.contains { $0.values.count > 1 }
                var line = LineChart.Series(several ? "\(label): mean, range shaded" : label,
                                            x: groups.map(\.x), y: groups.map { mean($0.values) * scale })
                if several { line.band = groups.map { $0.values.min()! * scale...$0.values.max()! * scale } }
                chart.series.append(line)
            }
            if let threshold { chart.markers.append(.init(x: threshold, label: "n·K = \(Int(threshold))")) }
            // Where the training error first reaches zero: the interpolation threshold the sweep itself found.
            if let first = meanBy(parameters, column("train_error")).first(where: { $0.1 <= 0.001 }) {
                chart.markers.append(.init(x: first.0, label: "train error 0"))
            }
            if what.hasPrefix("error") {
                let highest = chart.series.flatMap { $0.points.map(\.y) + ($0.band ?? []).map(\.upperBound) }.filter(\.isFinite).max()
                chart.yRange = 0...max(1, highest ?? 1)
            }
            try chart.svg().write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
            written.append(directory + "/" + file)
        }
        // Training error against epoch for each corruption (or label-noise level), averaged over its runs.
        if let key = ["data.corruption", "data.label_noise"].first(where: { header.contains($0) }), let k = header.firstIndex(of: key) {
            var chart = LineChart(title: "Training error against epoch — \(name)", xLabel: "epoch", yLabel: "training error (%)")
            let values = Array(Set(rows.map { $0[k] })).sorted()
            for value in values {
                var sums: [Int: (Double, Int)] = [:]
                for row in rows where row[k] == value {
                    guard let table = try? MetricsTable.load(directory + "/runs/" + row[0] + "/metrics.csv") else { continue }
                    for m in table.rows { if let e = m.trainError ?? m.batchError { sums[m.epoch, default: (0, 0)].0 += e; sums[m.epoch, default: (0, 0)].1 += 1 } }
                }
                let epochs = sums.keys.sorted()
                chart.series.append(.init("\(key.split(separator: ".").last!) = \(value)", x: epochs.map(Double.init), y: epochs.map { sums[$0]!.0 / Double(sums[$0]!.1) * 100 }))
            }
            chart.yRange = 0...100
            try chart.svg().write(toFile: directory + "/epochs.svg", atomically: true, encoding: .utf8)
            written.append(directory + "/epochs.svg")
        }
        var md = "# \(name)\n\n| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        // Integers (parameter counts, epochs) exactly; other numbers to 4 significant digits.
        for row in rows { md += "| " + row.map { Int($0) != nil ? $0 : Double($0).map { String(format: "%.4g", $0) } ?? $0 }.joined(separator: " | ") + " |\n" }
        try md.write(toFile: directory + "/results.md", atomically: true, encoding: .utf8)
        written.append(directory + "/results.md")
        return written
    }

    /// Mean of `y` for each distinct `x`, sorted by x (NaNs skipped).
    static func meanBy(_ x: [Double], _ y: [Double]) -> [(Double, Double)] {
        groupBy(x, y).map { ($0.x, mean($0.values)) }
    }

    /// The values of `y` for each distinct `x`, sorted by x (NaNs skipped).
    static func groupBy(_ x: [Double], _ y: [Double]) -> [(x: Double, values: [Double])] {
        var groups: [Double: [Double]] = [:]
        for (a, b) in zip(x, y) where a.isFinite && b.isFinite { groups[a, default: []].append(b) }
        return groups.keys.sorted().map { ($0, groups[$0]!) }
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
}
