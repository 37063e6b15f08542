// RunLock.swift — one process at a time per run directory. Rank 0 of a run holds an exclusive flock on
// <run>/.lock while the run trains, so a second `descent train` of the same run (or a second `descent sweep` that
// reaches a run another one is training) stops with one line instead of interleaving its metrics and
// checkpoints with the first one's. The kernel drops the lock when the process ends, however it ends (kill -9
// included), so there is never a stale lock to clean up.
import Distributed
import Foundation
import Job
#if canImport(Glibc)
import Glibc
#endif

public final class RunLock {
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { release() }

    /// Takes the lock of the run directory `directory` on rank 0 of `world`. Collective: when another process
    /// holds it, every rank throws one line naming the directory and the holder.
    public static func acquire(_ directory: String, world: Communicator) throws -> RunLock {
        try world.agreeing { RunLock(descriptor: world.isRoot ? try take(directory) : -1) }
    }

    /// The process training in `directory` now ("pid P on host H since T"), or nil when none does.
    public static func holder(_ directory: String) -> String? {
        do {
            let descriptor = try take(directory, create: false)
            if descriptor >= 0 { close(descriptor) }
            return nil
        } catch let busy as RunInUse {
            return busy.holder
        } catch {
            return nil
        }
    }

    /// Lets another process train in the directory.
    public func release() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// The lock's file descriptor (-1 when the file system offers no flock: the run goes on unlocked).
    private static func take(_ directory: String, create: Bool = true) throws -> Int32 {
        let path = directory + "/.lock"
        let descriptor = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        guard descriptor >= 0 else { return -1 }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            if busy { throw RunInUse(directory: directory, holder: holder?.isEmpty == false ? holder! : "another process") }
            return -1
        }
        let me = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = me.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return descriptor
    }
}

/// Another process trains in the run directory.
public struct RunInUse: Error, CustomStringConvertible {
    public let directory: String, holder: String
    public var description: String {
        "\(directory): another descent process is training this run (\(holder)); wait for it to end, or give this run another run.name"
    }
}
