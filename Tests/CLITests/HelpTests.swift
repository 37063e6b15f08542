// HelpTests.swift — `--help` of every command and subcommand: exit 0, a usage line, every argument and option
// mentioned; `descent train --help` also documents every job-file key (the list comes from `descent docs
// job-files`, generated from the same schema the parser checks against).
import Checkpoint
import Foundation
import Testing

struct HelpCase: Sendable, CustomTestStringConvertible {
    let command: [String]
    let mentions: [String]
    var testDescription: String { (["descent"] + command + ["--help"]).joined(separator: " ") }
}

let helpCases: [HelpCase] = [
    HelpCase(command: [], mentions: ["USAGE: descent <subcommand>", "train", "inspect", "predict", "report", "data", "--help"]),
    HelpCase(command: ["train"], mentions: ["USAGE: descent train <job>", "<job>", "--set <key=value>", "repeatable", "--quiet",
                                            "--check-sync <N>", "--debug-log <DIR>", "--resume <auto|PATH>", "--no-resume", "mpirun", "--help"]),
    HelpCase(command: ["inspect"], mentions: ["USAGE: descent inspect <checkpoint>", "<checkpoint>", "--json", "final.h5", "--help"]),
    HelpCase(command: ["predict"], mentions: ["USAGE: descent predict <model>", "<model>", "--data <data>", "--labels <labels>",
                                              "--out <out>", "predictions.csv", "id,label", "--help"]),
    HelpCase(command: ["report"], mentions: ["USAGE: descent report <run-directory>", "<run-directory>", "metrics.csv", "--help"]),
    HelpCase(command: ["data"], mentions: ["USAGE: descent data <subcommand>", "convert", "--help"]),
    HelpCase(command: ["data", "convert"], mentions: ["USAGE: descent data convert", "--set <set>", "cifar10", "--path <path>",
                                                      "--out <out>", "--help"]),
    HelpCase(command: ["docs"], mentions: ["USAGE: descent docs", "<document>", "job-files", "--help"]),
    HelpCase(command: ["glass", "segment"], mentions: ["USAGE: descent glass segment <model> <images>", "--out <out>", "--halo <halo>",
                                                     "--any-width", "another width", "--help"]),
]

@Suite("descent --help")
struct HelpTests {
    @Test("exits 0 and mentions every argument and option", arguments: helpCases)
    func help(_ c: HelpCase) async throws {
        let scratch = try Scratch()
        let outcome = try await descent(c.command + ["--help"], in: scratch.path)
        #expect(outcome.succeeded, "\(outcome)")
        #expect(outcome.stderr.isEmpty, "\(outcome)")
        for mention in c.mentions {
            #expect(outcome.stdout.contains(mention), "\(c.testDescription) does not mention \(mention)")
        }
        #expect(try await descent(["help"] + c.command, in: scratch.path).stdout == outcome.stdout,
                "`descent help …` prints the same")
    }

    @Test("--version prints the version that checkpoints record")
    func version() async throws {
        let scratch = try Scratch()
        let outcome = try await descent(["--version"], in: scratch.path)
        #expect(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdoutLines == [CheckpointFormat.descentVersion], "\(outcome)")
    }

    @Test("glass synth and glass tiles --help state each option's minimum")
    func glassMinimums() async throws {
        let scratch = try Scratch()
        let synth = try await descent(["glass", "synth", "--help"], in: scratch.path)
        for mention in ["≥ 1024", "≥ 256", "≥ 0", "≥ 1"] { #expect(synth.stdout.contains(mention), "\(synth)") }
        let tiles = try await descent(["glass", "tiles", "--help"], in: scratch.path)
        for mention in ["≥ 8", "less than --tile", "(0–1)"] { #expect(tiles.stdout.contains(mention), "\(tiles)") }
    }

    @Test("train --help documents every job-file key, laid out within 80 columns")
    func trainHelpListsEveryKey() async throws {
        let scratch = try Scratch()
        let docs = try await descent(["docs", "job-files"], in: scratch.path)
        try #require(docs.succeeded, "\(docs)")
        var keys: [String] = [], table = ""
        for line in docs.stdoutLines {
            if line.hasPrefix("## ["), line.hasSuffix("]") { table = String(line.dropFirst(4).dropLast()) }
            if line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") {
                keys.append(table + "." + line[line.index(line.startIndex, offsetBy: 3)..<end])
            }
        }
        #expect(keys.count >= 50, "docs job-files lists \(keys.count) keys: \(keys)")
        #expect(keys.contains("optim.lr") && keys.contains("run.epochs") && keys.contains("data.path"))

        let help = try await descent(["train", "--help"], in: scratch.path)
        try #require(help.succeeded, "\(help)")
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        for key in keys {
            #expect(lines.contains { $0.hasPrefix("  \(key): ") }, "train --help does not document \(key)")
        }
        // The key reference keeps its layout: table headers, keys indented by 2, their text by 6 (a line the help
        // wrapped again would start at column 0).
        guard let start = lines.firstIndex(of: "[run]"), let end = lines[start...].firstIndex(of: "") else {
            Issue.record("no key reference in train --help:\n\(help.stdout)")
            return
        }
        for line in lines[start..<end] {
            #expect(line.count < 80, "wider than 80 columns: \(line)")
            #expect(line.hasPrefix("[") || line.hasPrefix("  ") , "the key reference was re-wrapped: \(line)")
        }
    }
}
