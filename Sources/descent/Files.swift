// Files.swift — small file-system helpers for the commands.
import Foundation
import Train

func makeDirectory(_ path: String) throws {
    if let problem = directoryProblem(creating: path) {
        throw CommandError("\(path): cannot create the directory (\(problem))")
    }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
