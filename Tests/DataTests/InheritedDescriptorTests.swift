// InheritedDescriptorTests.swift — an HDF5 file open while another program starts is not inherited by it. The
// program would hold HDF5's lock on the file for its whole life, and the file could not be opened again (seen as
// a flaky test: Open MPI's singleton MPI_Init, in another suite, started orted while a sample file was written).
import Data
import Foundation
import HDF5
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Starts `sleep 60` by posix_spawn with no file actions but its standard output, so it inherits every descriptor
/// not marked close-on-exec, and returns once it has started (it says so on a pipe, after its exec has closed the
/// marked ones). It holds HDF5's lock meanwhile, as every start of a program in this process should: a file that
/// another thread opens at that moment is not yet marked.
private func startSleeper() throws -> pid_t {
    var pid: pid_t = 0, status: Int32 = 0, said = [UInt8](repeating: 0, count: 6)
    var pipeEnds: [Int32] = [-1, -1]
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("sh"), strdup("-c"), strdup("echo ready; exec sleep 60"), nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    HDF5Library.locked {
        guard pipe(&pipeEnds) == 0 else { status = errno; return }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        status = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        close(pipeEnds[1])
        if status == 0 { _ = read(pipeEnds[0], &said, said.count) }
        close(pipeEnds[0])
    }
    try #require(status == 0, "starting /bin/sh: \(String(cString: strerror(status)))")
    try #require(String(decoding: said, as: UTF8.self) == "ready\n")
    return pid
}

private func stop(_ pid: pid_t) { kill(pid, SIGKILL); waitpid(pid, nil, 0) }

/// The files a process holds open.
private func openFiles(_ pid: pid_t) -> [String] {
    let directory = "/proc/\(pid)/fd"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0) }
}

@Suite("HDF5 files and programs started while they are open")
struct InheritedDescriptorTests {
    @Test("a sample file written while a program starts is not held by it and can be read at once")
    func sampleFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("t.h5")
        let writer = try SampleFileWriter(path: path, shape: [1, 2, 2], classes: 2, source: "test", masks: false)
        let child = try startSleeper()
        defer { stop(child) }
        try [UInt8](arrayLiteral: 1, 2, 3, 4).withUnsafeBufferPointer { try writer.append(image: $0.baseAddress!, label: 1) }
        try writer.finish()
        #expect(!openFiles(child).contains { $0.hasPrefix(path) }, "\(openFiles(child))")
        #expect(try SampleFileReader(path: path).count == 1)
    }

    @Test("a file written through HDF5File (checkpoints, masks) likewise")
    func hdf5File() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("c.h5")
        let file = try HDF5File.create(path)
        let child = try startSleeper()
        defer { stop(child) }
        try file.setAttribute("format", "test")
        try file.close()
        #expect(!openFiles(child).contains(path), "\(openFiles(child))")
        #expect(try HDF5File.open(path).stringAttribute("format") == "test")
    }
}
