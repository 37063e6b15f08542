// DocsCommand.swift — `descent docs job-files`: prints the job-file reference (docs/job-files.md is its output).
import ArgumentParser
import Job

struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Print reference documentation generated from the code.",
        shouldDisplay: false
    )

    @Argument(help: "Which document: job-files.")
    var document: String = "job-files"

    func run() throws {
        try failing {
            guard document == "job-files" else { throw ValidationError("unknown document '\(document)'; known: job-files") }
            print(JobDocumentation.markdown, terminator: "")
        }
    }
}
