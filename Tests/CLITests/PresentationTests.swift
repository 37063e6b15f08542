// PresentationTests.swift — how a sweep's numbers read: the line each finished run prints ("1 epoch", not
// "1 epochs") and results.md (parameter counts exact, 15510 not 1.551e+04). A 2-run sweep of 1 epoch on a
// small generated IDX data set, on one rank.
import Foundation
import Testing

@Suite("descent sweep output")
struct PresentationTests {
    @Test("a 1-epoch sweep: '1 epoch' in each run's line, exact parameter counts in results.md")
    func oneEpochSweep() async throws {
        let scratch = try Scratch()
        let data = scratch.file("data")
        try writeIDXDirectory(data, train: learnableImages(count: 40, side: 12, seed: 3), test: learnableImages(count: 20, side: 12, seed: 4))
        try jobText([
            ("run", ["epochs = 1"]),
            ("data", ["set = \"fashion-mnist\"", "path = \"\(data)\""]),
            ("model", ["architecture = \"mlp\"", "hidden = [100]"]),   // 144·100 + 100 + 100·10 + 10 = 15510 parameters
            ("optim", ["batch_size = 20", "lr = 0.1"]),
        ]).write(toFile: scratch.file("base.toml"), atomically: true, encoding: .utf8)
        try "job = \"base.toml\"\nname = \"p\"\noutput = \"\(scratch.file("out"))\"\n[grid]\n\"run.seed\" = [0, 1]\n"
            .write(toFile: scratch.file("p.toml"), atomically: true, encoding: .utf8)

        let outcome = try await descent(["sweep", scratch.file("p.toml")], in: scratch.path, timeLimit: 120)
        try #require(outcome.succeeded, "\(outcome)")
        let runLines = outcome.stdoutLines.filter { $0.contains("parameters, ") }
        #expect(runLines.count == 2, "\(outcome)")
        for line in runLines {
            #expect(line.contains("15510 parameters, 1 epoch, "), "\(line)")
        }

        let report = try await descent(["report", scratch.file("out/p")], in: scratch.path)
        try #require(report.succeeded, "\(report)")
        let table = try readText(scratch.file("out/p/results.md"))
        #expect(table.contains("| 15510 |"), "results.md: \(table)")
        #expect(!table.contains("e+04"), "results.md: \(table)")
    }
}
