// JobValue.swift — a value in a job file, independent of the TOML library: what the schema checks, what
// `--set` and sweep grids override, and what the effective job.toml prints.

public indirect enum JobValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case array([JobValue])
    case table([String: JobValue])

    /// The value as TOML source text.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v):
            if v == v.rounded() && abs(v) < 1e15 { return String(format1: v) }
            return String(v)
        case .bool(let v): return v ? "true" : "false"
        case .string(let s): return "\"" + s.replacingBackslashesAndQuotes() + "\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .table(let t):
            return "{ " + t.keys.sorted().map { "\($0) = \(t[$0]!)" }.joined(separator: ", ") + " }"
        }
    }

    /// The kind, as a person names it in an error message.
    public var kindName: String {
        switch self {
        case .int: "an integer"
        case .double: "a number"
        case .bool: "true or false"
        case .string: "a string"
        case .array: "a list"
        case .table: "a table"
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let v): v
        default: nil
        }
    }
}

extension String {
    /// "1.0" for 1.0: TOML needs the decimal point to keep a float a float.
    init(format1 v: Double) { self = String(Int(v)) + ".0" }

    func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for c in self {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
