// SweepSpec.swift — a sweep file: a base job, fixed overrides, and a grid of overrides whose product is the
// list of runs. Every run is an ordinary job (validated like one) with its own run directory under the sweep's.
//
//   job = "fmnist-mlp.toml"            # the base job, relative to the sweep file
//   name = "double-descent"            # the sweep directory is <output>/<name> (default: the file's name)
//   output = "runs"                    # default "runs"
//   ranks_per_run = 1                  # ranks that train one run together (data parallel)
//   order = "largest_first"            # or "as_written" (also when the data's headers cannot be read)
//   [set]                              # overrides for every run
//   "data.subset" = 4000
//   [grid]                             # one run per combination
//   "model.hidden" = [4, 8, 16]        # an integer for a list key means a one-element list
//   "run.seed" = [0, 1]
//   "model.width" = { from = 4, to = 1024, count = 9, scale = "log" }   # a range (integers when from/to are)
import enum Data.DataSetKind
import enum Data.DataSets
import Foundation
import Job
import TOMLKit

public struct SweepError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One run of a sweep: its id (also its run directory's name) and its overrides.
public struct SweepRun: Sendable {
    public let index: Int
    public let id: String
    public let overrides: [(key: String, value: JobValue)]
    public let job: Job
}

public struct SweepSpec {
    public let source: String
    public let name: String
    public let directory: String
    public let ranksPerRun: Int
    public let gridKeys: [String]
    /// The runs, in the order they are handed out.
    public let runs: [SweepRun]

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SweepError("\(path): cannot be read (\(FileManager.default.fileExists(atPath: path) ? "permission or encoding" : "no such file"))")
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw SweepError("\(path):\(e.source.begin.line): \(e.description)")
        }
        let known = ["job", "name", "output", "ranks_per_run", "order", "set", "grid"]
        if let bad = table.keys.first(where: { !known.contains($0) }) {
            if Schema.tables.contains(bad), table["grid"] == nil {
                throw SweepError("\(path): a job file (it has [\(bad)]), not a sweep file; HINT: descent train \(path)")
            }
            throw SweepError("\(path): unknown key '\(bad)' (a sweep file has \(known.joined(separator: ", ")))")
        }
        guard let jobName = table["job"]?.string else { throw SweepError("\(path): 'job' (the base job file) is missing") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let jobPath = jobName.hasPrefix("/") ? jobName : base.appendingPathComponent(jobName).standardizedFileURL.path
        var baseJob = try Job(path: jobPath)
        source = path
        name = table["name"]?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let output = table["output"]?.string ?? "runs"
        directory = URL(fileURLWithPath: output).appendingPathComponent(name).standardizedFileURL.path
        ranksPerRun = table["ranks_per_run"]?.int ?? 1
        guard ranksPerRun >= 1 else { throw SweepError("\(path): ranks_per_run must be ≥ 1, got \(ranksPerRun)") }
        let order = table["order"]?.string ?? "largest_first"
        guard ["largest_first", "as_written"].contains(order) else {
            throw SweepError("\(path): order must be \"largest_first\" or \"as_written\", got \"\(order)\"")
        }

        if let fixed = table["set"]?.table {
            for key in fixed.keys.sorted() {
                if key == "run.name" || key == "run.output" {
                    throw SweepError("\(path) [set] \(key): a sweep sets each run's \(key) itself (<output>/<name>/runs/<run id>); set the sweep's \(key == "run.name" ? "name" : "output") = … at the top of the file instead")
                }
                try baseJob.set(key, to: SweepSpec.adapt(try Job.convert(fixed[key]!, key: key, at: "\(path) [set]"), for: key), origin: "\(path) [set] \(key)")
            }
        }
        // The grid: each key's values, in file order of the keys (TOMLKit keeps them sorted; use the text order).
        var grid: [(String, [JobValue])] = []
        if let g = table["grid"]?.table {
            let ordered = g.keys.sorted { SweepSpec.position(of: $0, in: text) < SweepSpec.position(of: $1, in: text) }
            for key in ordered {
                let values = try SweepSpec.values(g[key]!, key: key, at: "\(path) [grid] \(key)")
                guard !values.isEmpty else { throw SweepError("\(path) [grid] \(key): no values") }
                let adapted = values.map { SweepSpec.adapt($0, for: key) }
                if let twice = adapted.enumerated().first(where: { i, v in adapted[..<i].contains(v) })?.element {
                    throw SweepError("\(path) [grid] \(key): the value \(twice) is given twice (each run would be trained once for both)")
                }
                if key == "run.name" || key == "run.output" {
                    throw SweepError("\(path) [grid] \(key): a sweep sets each run's \(key) itself; it cannot be a grid key")
                }
                grid.append((key, adapted))
            }
        }
        guard !grid.isEmpty else {
            throw SweepError("\(path): the [grid] is empty: a sweep needs at least one key with values (to train the base job alone: descent train \(jobName))")
        }
        gridKeys = grid.map(\.0)
        var combos: [[(String, JobValue)]] = [[]]
        for (key, values) in grid { combos = combos.flatMap { c in values.map { c + [(key, $0)] } } }
        var runs: [SweepRun] = []
        for (i, combo) in combos.enumerated() {
            var job = baseJob
            for (key, value) in combo { try job.set(key, to: value, origin: "\(path) [grid] \(key) = \(value)") }
            let id = combo.map { SweepSpec.label($0.0, $0.1) }.joined(separator: "_")
            try job.set("run.name", to: .string(id), origin: path)
            try job.set("run.output", to: .string(directory + "/runs"), origin: path)
            try job.validate()
            runs.append(SweepRun(index: i, id: id, overrides: combo.map { (key: $0.0, value: $0.1) }, job: job))
        }
        if order == "largest_first", let sizes = SweepSpec.parameterCounts(runs) {
            runs = zip(runs, sizes).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.index < $1.0.index }.map(\.0)
        }
        self.runs = runs
    }

    /// Values of a grid key: a list, or a range table { from, to, count, scale = "linear" | "log" }.
    static func values(_ v: TOMLValueConvertible, key: String, at place: String) throws -> [JobValue] {
        if let range = v.table {
            if Schema.tables.contains(key), range["from"] == nil, let sub = range.keys.first {
                // run.seed = [0, 1] without quotes: TOML makes [grid] hold a table "run" with a key "seed".
                throw SweepError("\(place): \(key).\(sub) without quotes is a table in TOML; HINT: quote the key, \"\(key).\(sub)\" = …")
            }
            guard let from = range["from"].flatMap({ $0.double ?? $0.int.map(Double.init) }),
                  let to = range["to"].flatMap({ $0.double ?? $0.int.map(Double.init) }), let count = range["count"]?.int, count >= 1 else {
                throw SweepError("\(place): a range needs from, to and count ≥ 1")
            }
            let log = (range["scale"]?.string ?? "linear") == "log"
            guard !log || (from > 0 && to > 0) else { throw SweepError("\(place): a log range needs from, to > 0") }
            let integers = range["from"]?.int != nil && range["to"]?.int != nil
            var out: [JobValue] = []
            for i in 0..<count {
                let t = count == 1 ? 0 : Double(i) / Double(count - 1)
                let x = log ? exp(Foundation.log(from) + t * (Foundation.log(to) - Foundation.log(from))) : from + t * (to - from)
                let value: JobValue = integers ? .int(Int(x.rounded())) : .double(x)
                if !out.contains(value) { out.append(value) }
            }
            return out
        }
        guard let array = v.array else { throw SweepError("\(place): expected a list of values or a range table") }
        return try array.map { try Job.convert($0, key: key, at: place) }
    }

    /// An integer given for a list-of-integers key (model.hidden) means a one-element list.
    static func adapt(_ value: JobValue, for key: String) -> JobValue {
        if case .int = value, case .ints? = Schema.byKey[key]?.kind { return .array([value]) }
        return value
    }

    /// A run-directory-safe label: "hidden-64", "seed-0", "label_noise-0.2".
    static func label(_ key: String, _ value: JobValue) -> String {
        let short = key.split(separator: ".").last.map(String.init) ?? key
        var text = "\(value)".replacingOccurrences(of: "\"", with: "")
        for (a, b) in [("[", ""), ("]", ""), (", ", "x"), (" ", ""), ("/", "-")] { text = text.replacingOccurrences(of: a, with: b) }
        return "\(short)-\(text)"
    }

    static func position(of key: String, in text: String) -> Int {
        text.range(of: "\"\(key)\"").map { text.distance(from: text.startIndex, to: $0.lowerBound) }
            ?? text.range(of: key).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? Int.max
    }

    /// Each run's parameter count for its data's sample shape and classes, read from the data's file headers; nil
    /// when a header cannot be read or a model cannot be built for it: the runs then keep their written order, and
    /// each run reports its own problem when it starts.
    static func parameterCounts(_ runs: [SweepRun]) -> [Int]? {
        var headers: [String: (shape: [Int], classes: Int)] = [:]
        var counts: [Int] = []
        for run in runs {
            guard let kind = DataSetKind(rawValue: run.job.string("data.set")) else { return nil }
            let path = run.job.optionalString("data.path"), key = "\(kind.rawValue):\(path ?? "")"
            guard let data = headers[key] ?? (try? DataSets.sampleShape(kind, directory: path)),
                  let model = try? run.job.modelSpec().build(input: data.shape, classes: data.classes, maxBatch: 1)
            else { return nil }
            headers[key] = data
            counts.append(model.parameterCount)
        }
        return counts
    }
}
