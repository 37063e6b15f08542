// Files.swift — small file-system helpers for the commands.
import Foundation

func makeDirectory(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CommandError("\(path): cannot create the directory (\(error.localizedDescription))")
    }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
