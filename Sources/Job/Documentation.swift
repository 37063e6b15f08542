// Documentation.swift — the job-file reference, generated from the schema: `descent train --help` prints it
// and docs/job-files.md holds the same text.

public enum JobDocumentation {
    /// Every key: "table.key: type; default", then its meaning, every line at most `width` columns wide.
    public static func text(width: Int = 100) -> String {
        var out: [String] = []
        for table in Schema.tables {
            out.append("[\(table)]")
            for spec in Schema.keys where spec.table == table {
                let def = spec.defaultValue.map { "default \($0)" } ?? "optional"
                let header = wrap("\(spec.key): \(spec.typeDescription); \(def)", width: width - 6)
                out.append(contentsOf: header.enumerated().map { ($0.offset == 0 ? "  " : "      ") + $0.element })
                out.append(contentsOf: wrap(spec.help, width: width - 6).map { "      " + $0 })
            }
        }
        return out.joined(separator: "\n")
    }

    /// The reference as Markdown (docs/job-files.md).
    public static var markdown: String {
        var out = ["# Job files", "", "Generated from `Sources/Job/Schema.swift` (`descent train --help` prints the same).",
                   "An unknown key, a wrong type or an out-of-range value stops the run with one line naming the file, the line, the key and the problem.",
                   "Any key can be overridden from the command line: `descent train job.toml --set optim.lr=0.05 --set model.hidden=[64]`. A string key takes the text as given (`--set run.name=123`, `--set slurm.time=12:00:00`)."]
        for table in Schema.tables {
            out += ["", "## [\(table)]", "", "| key | type | default | meaning |", "|---|---|---|---|"]
            for spec in Schema.keys where spec.table == table {
                let def = spec.defaultValue.map { "`\($0)`" } ?? "—"
                out.append("| `\(spec.name)` | \(spec.typeDescription) | \(def) | \(spec.help.replacingPipes()) |")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

extension String {
    func replacingPipes() -> String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}
