// Job.swift — a job file: parsed from TOML, checked against the schema (every error names the file, the key,
// the line and the problem), with `--set key=value` overrides applied, and every key given its default. Typed
// accessors turn it into what the trainer needs (JobBuild.swift).
import TOMLKit

/// A problem with a job file or an override: one line a person can act on.
public struct JobError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct Job: Equatable, Sendable {
    /// The file the job came from ("jobs/fmnist-mlp.toml"), or "<overrides>" for a job built in code.
    public let source: String
    /// Every key of the schema that has a value: those given in the file or by overrides, and the defaults.
    public private(set) var values: [String: JobValue]
    /// Keys given explicitly (by the file or an override), for the effective job.toml.
    public private(set) var given: Set<String>
    /// Where each given key was set: "jobs/x.toml:12" or "--set key=value", for errors found after parsing.
    public private(set) var origins: [String: String] = [:]

    /// Where `key` was set ("FILE:LINE" or "--set key=value"), or the job file when it was not given.
    public func origin(of key: String) -> String { origins[key] ?? source }

    /// Parses `text` (the contents of `source`) and applies `overrides` ("optim.lr=0.05").
    public init(text: String, source: String, overrides: [String] = []) throws {
        self.source = source
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw JobError("\(source):\(e.source.begin.line): \(e.description) (column \(e.source.begin.column))")
        }
        values = [:]
        given = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if table["grid"]?.table != nil || table["job"]?.string != nil {
            let line = Job.line(ofTable: "grid", key: nil, in: lines)
            throw JobError("\(source)\(line > 0 ? ":\(line)" : ""): a sweep file (it has \(table["grid"] != nil ? "a [grid]" : "job =")), not a job file; HINT: descent sweep \(source)")
        }
        for tableName in table.keys.sorted() {
            guard let section = table[tableName]?.table, !(table[tableName]!.type == .array) else {
                let line = Job.line(ofTable: nil, key: tableName, in: lines)
                let hint = Schema.tables.contains(tableName) ? "" : Schema.suggestion(for: tableName + ".x").map { "; did you mean [\($0.split(separator: ".")[0])]?" } ?? ""
                throw JobError("\(source):\(line): '\(tableName)' must be a table such as [\(Schema.tables.contains(tableName) ? tableName : "run")]; every key belongs to one of [\(Schema.tables.joined(separator: "], ["))]\(hint)")
            }
            guard Schema.tables.contains(tableName) else {
                let line = Job.line(ofTable: tableName, key: nil, in: lines)
                throw JobError("\(source):\(line): unknown table [\(tableName)]; known tables: \(Schema.tables.joined(separator: ", "))")
            }
            for key in section.keys.sorted() {
                let full = "\(tableName).\(key)"
                let line = Job.line(ofTable: tableName, key: key, in: lines)
                guard let spec = Schema.byKey[full] else {
                    let hint = Schema.suggestion(for: full).map { " (did you mean '\($0)'?)" } ?? ""
                    throw JobError("\(source):\(line): unknown key '\(full)'\(hint)")
                }
                let value = try Job.convert(section[key]!, key: full, at: "\(source):\(line)")
                values[full] = try Job.check(value, against: spec, at: "\(source):\(line)")
                given.insert(full)
                origins[full] = "\(source):\(line)"
            }
        }
        for o in overrides { try set(o) }
        for spec in Schema.keys where values[spec.key] == nil {
            if let d = spec.defaultValue { values[spec.key] = d }
        }
        if values["run.name"] == nil { values["run.name"] = .string(Job.stem(of: source)) }
        try validate()
    }

    /// Reads and parses a job file.
    public init(path: String, overrides: [String] = []) throws {
        guard let text = readTextFile(path) else {
            throw JobError("\(path): \(fileProblem(path))")
        }
        try self.init(text: text, source: path, overrides: overrides)
    }

    /// Applies one override "table.key=value"; the value is TOML ("0.05", "[64, 64]", "true", "\"x\"") or a
    /// bare word taken as a string ("mnist").
    public mutating func set(_ assignment: String) throws {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw JobError("--set \(assignment): expected key=value, e.g. --set optim.lr=0.05")
        }
        let key = assignment[..<eq].trimmingSpaces(), text = assignment[assignment.index(after: eq)...].trimmingSpaces()
        try set(key, toTOML: text, origin: "--set \(assignment)")
    }

    /// Sets `key` from TOML source text (sweep grids use this too).
    public mutating func set(_ key: String, toTOML text: String, origin: String) throws {
        guard let spec = Schema.byKey[key] else {
            let hint = Schema.suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw JobError("\(origin): unknown key '\(key)'\(hint)")
        }
        let value: JobValue
        if let parsed = try? TOMLTable(string: "v = \(text)"), let v = parsed["v"] {
            // A string key takes the text as it is when TOML reads it as a number, a boolean or a date or time:
            // --set run.name=123, --set slurm.time=12:00:00.
            if spec.kind == .string, [.int, .double, .bool, .date, .time, .dateTime].contains(v.type) {
                value = .string(text)
            } else {
                value = try Job.convert(v, key: key, at: origin)
            }
        } else {
            value = .string(text)
        }
        try set(key, to: value, origin: origin, spec: spec)
    }

    /// Sets `key` to a value, checked against the schema.
    public mutating func set(_ key: String, to value: JobValue, origin: String) throws {
        guard let spec = Schema.byKey[key] else {
            let hint = Schema.suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw JobError("\(origin): unknown key '\(key)'\(hint)")
        }
        try set(key, to: value, origin: origin, spec: spec)
    }

    private mutating func set(_ key: String, to value: JobValue, origin: String, spec: KeySpec) throws {
        values[key] = try Job.check(value, against: spec, at: origin)
        given.insert(key)
        origins[key] = origin
    }

    // MARK: - Conversion and checks

    public static func convert(_ v: TOMLValueConvertible, key: String, at place: String) throws -> JobValue {
        switch v.type {
        case .int: return .int(v.int!)
        case .double: return .double(v.double!)
        case .bool: return .bool(v.bool!)
        case .string: return .string(v.string!)
        case .array: return .array(try v.array!.map { try convert($0, key: key, at: place) })
        case .table:
            let t = v.table!
            var out: [String: JobValue] = [:]
            for k in t.keys { out[k] = try convert(t[k]!, key: key, at: place) }
            return .table(out)
        default:
            throw JobError("\(place): '\(key)' is a date or time; expected \(Schema.byKey[key]?.typeDescription ?? "a value")")
        }
    }

    /// Checks type and range; widens integers given for numbers ("lr = 1" is 1.0).
    static func check(_ value: JobValue, against spec: KeySpec, at place: String) throws -> JobValue {
        func fail(_ problem: String) -> JobError { JobError("\(place): '\(spec.key)' \(problem)") }
        func wrongType() -> JobError { fail("must be \(spec.typeDescription), got \(value.kindName) \(value)") }
        switch spec.kind {
        case .int(let lo, let hi):
            guard case .int(let v) = value else { throw wrongType() }
            guard v >= lo && v <= hi else { throw fail("must be \(spec.typeDescription), got \(v)") }
            return value
        case .double(let lo, let hi, let open):
            guard let v = value.doubleValue else { throw wrongType() }
            guard v.isFinite, open ? v > lo : v >= lo, v <= hi else { throw fail("must be \(spec.typeDescription), got \(JobValue.double(v))") }
            return .double(v)
        case .bool:
            guard case .bool = value else { throw wrongType() }
            return value
        case .choice(let choices):
            guard case .string(let s) = value else { throw wrongType() }
            guard choices.contains(s) else { throw fail("must be \(spec.typeDescription); got \"\(s)\"") }
            return value
        case .string:
            guard case .string(let s) = value else {
                // A number, a boolean or a time where a string belongs: TOML needs the quotes.
                let scalar = [JobValue.int(0), .double(0), .bool(false)].contains { $0.kindName == value.kindName }
                throw fail("must be \(spec.typeDescription), got \(value.kindName) \(value)" + (scalar ? "; HINT: put it in quotes, \"\(value)\"" : ""))
            }
            if spec.key == "checkpoint.every" { _ = try Job.every(s, at: place) }
            if spec.key == "slurm.time" && !Job.isSlurmTime(s) {
                throw fail("must be a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS; a bare number is minutes), got \"\(s)\"")
            }
            return value
        case .ints(let lo):
            guard case .array(let items) = value else { throw wrongType() }
            for item in items {
                guard case .int(let v) = item, v >= lo else { throw fail("must be \(spec.typeDescription), got \(value)") }
            }
            return value
        case .doubles:
            guard case .array(let items) = value, items.allSatisfy({ $0.doubleValue != nil }) else { throw wrongType() }
            return .array(items.map { .double($0.doubleValue!) })
        case .layers:
            guard case .array(let items) = value, items.allSatisfy({ if case .table = $0 { true } else { false } }) else { throw wrongType() }
            return value
        }
    }

    /// Checks the rules that involve several keys (call again after changing keys with `set`).
    public func validate() throws {
        // The run directory is <run.output>/<run.name>: an empty name would put the run's files straight into
        // run.output, and "/" or ".." would put them anywhere.
        let name = string("run.name")
        if name.isEmpty || name == "." || name == ".." || name.contains("/") {
            throw JobError("\(source): 'run.name' must be a plain name (not empty, no '/', not '.' or '..'), got \"\(name)\"")
        }
        if bool("optim.nesterov") && (double("optim.momentum") == 0 || double("optim.dampening") != 0) {
            throw JobError("\(source): 'optim.nesterov' needs optim.momentum > 0 and optim.dampening = 0 (momentum is \(values["optim.momentum"]!), dampening \(values["optim.dampening"]!))")
        }
        if string("model.architecture") == "layers" && values["model.layers"] == nil {
            throw JobError("\(source): model.architecture = \"layers\" needs a model.layers list")
        }
        if string("data.normalize") == "standardize", let m = values["data.mean"], let s = values["data.std"] {
            if case .array(let a) = m, case .array(let b) = s, a.count != b.count {
                throw JobError("\(source): data.mean has \(a.count) values but data.std has \(b.count)")
            }
        }
        _ = try checkpointEvery()
    }

    // MARK: - Typed access (keys are schema keys with defaults; a wrong key is a programming error)

    public func int(_ key: String) -> Int { if case .int(let v)? = values[key] { return v }; fatalError("job key \(key) is not an integer") }
    public func double(_ key: String) -> Double { values[key]?.doubleValue ?? { fatalError("job key \(key) is not a number") }() }
    public func bool(_ key: String) -> Bool { if case .bool(let v)? = values[key] { return v }; fatalError("job key \(key) is not a bool") }
    public func string(_ key: String) -> String { if case .string(let v)? = values[key] { return v }; fatalError("job key \(key) is not a string") }
    public func optionalString(_ key: String) -> String? { if case .string(let v)? = values[key] { return v }; return nil }
    public func optionalDouble(_ key: String) -> Double? { values[key]?.doubleValue }
    public func ints(_ key: String) -> [Int] {
        guard case .array(let a)? = values[key] else { return [] }
        return a.compactMap { if case .int(let v) = $0 { v } else { nil } }
    }
    public func doubles(_ key: String) -> [Double]? {
        guard case .array(let a)? = values[key] else { return nil }
        return a.compactMap(\.doubleValue)
    }

    /// "N epochs" or "N steps".
    public enum Every: Equatable, Sendable { case epochs(Int), steps(Int) }
    public func checkpointEvery() throws -> Every {
        try Job.every(string("checkpoint.every"), at: origin(of: "checkpoint.every"))
    }

    static func every(_ text: String, at place: String) throws -> Every {
        let parts = text.split(separator: " ")
        if parts.count == 2, let n = Int(parts[0]), n >= 1 {
            if parts[1].hasPrefix("epoch") { return .epochs(n) }
            if parts[1].hasPrefix("step") { return .steps(n) }
        }
        throw JobError("\(place): 'checkpoint.every' must be \"N epochs\" or \"N steps\" with N ≥ 1, got \"\(text)\"")
    }

    /// A time limit as sbatch --time takes it: "minutes", "minutes:seconds", "hours:minutes:seconds",
    /// "days-hours", "days-hours:minutes", "days-hours:minutes:seconds" (or INFINITE / UNLIMITED).
    public static func isSlurmTime(_ text: String) -> Bool {
        if ["INFINITE", "UNLIMITED"].contains(text.uppercased()) { return true }
        func number(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy { ("0"..."9").contains($0) } }
        var clock = Substring(text)
        if let dash = text.firstIndex(of: "-") {
            guard number(text[..<dash]) else { return false }
            clock = text[text.index(after: dash)...]
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(parts.count) && parts.allSatisfy(number)
    }

    // MARK: - Output

    /// The effective job as TOML: every table, every key with its value (defaults marked), so that the run
    /// directory's job.toml reproduces the run without the original file or the overrides.
    public var effectiveTOML: String {
        var out = ["# Effective job: \(source) with overrides and defaults applied (written by descent)."]
        for table in Schema.tables {
            out.append("")
            out.append("[\(table)]")
            for spec in Schema.keys where spec.table == table {
                guard let v = values[spec.key] else { continue }
                let rendered: String
                if case .array(let items) = v, spec.kind == .layers {
                    rendered = "[\n" + items.map { "  \($0)," }.joined(separator: "\n") + "\n]"
                } else {
                    rendered = v.description
                }
                out.append("\(spec.name) = \(rendered)" + (given.contains(spec.key) ? "" : "   # default"))
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The line of `[table]` or of `key = ` inside it (1-based; 0 when not found).
    static func line(ofTable table: String?, key: String?, in lines: [String]) -> Int {
        var current: String? = nil
        for (i, raw) in lines.enumerated() {
            let l = raw.trimmingSpaces()
            if l.hasPrefix("[") {
                current = String(l.dropFirst().prefix { $0 != "]" }).trimmingSpaces()
                if key == nil && current == table { return i + 1 }
                continue
            }
            if let key, current == table || (table == nil && current == nil) {
                let name = l.prefix { $0 != "=" }.trimmingSpaces().trimmingCharacters(["\"", "'"])
                if name == key && l.contains("=") { return i + 1 }
            }
        }
        return 0
    }

    static func stem(of path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(".toml") ? String(file.dropLast(5)) : file
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
    func trimmingCharacters(_ set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
