// MPIRuntime.swift — starting and ending MPI for the process, and the one way a rank fails: print one line
// naming the rank and the cause, then MPI_Abort, so that no other rank is left waiting in a collective.
import CMPI
#if canImport(Glibc)
import Glibc
#endif

public enum MPIRuntime {
    nonisolated(unsafe) private static var started = false

    /// Initialises MPI (thread level FUNNELED: only the main thread calls MPI) and returns the world.
    /// Without a launcher this is a singleton: a 1-rank job.
    @discardableResult
    public static func start() -> Communicator {
        if !started {
            var provided: Int32 = 0
            MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            started = true
        }
        return Communicator.world
    }

    public static var isStarted: Bool { started }

    /// Finalises MPI after a normal end of the job.
    public static func finish() {
        guard started else { return }
        MPI_Finalize()
        started = false
    }

    /// This process's rank in the world, or 0 before MPI starts.
    public static var worldRank: Int {
        guard started else { return 0 }
        var r: Int32 = 0
        MPI_Comm_rank(shim_MPI_COMM_WORLD(), &r)
        return Int(r)
    }

    /// Prints `descent: rank R: message` on stderr and aborts the whole job with exit code 1.
    public static func fail(_ message: String) -> Never {
        let line = started && worldSize > 1 ? "descent: rank \(worldRank): \(message)\n" : "descent: \(message)\n"
        fflush(nil)
        _ = line.withCString { write(2, $0, strlen($0)) }
        abort(1)
    }

    /// Ends every process of the job with `code`. A 1-rank job finalises and exits (MPI_Abort would add
    /// Open MPI's banner to the one line already printed).
    public static func abort(_ code: Int32) -> Never {
        fflush(nil)
        if started && worldSize > 1 { MPI_Abort(shim_MPI_COMM_WORLD(), code) }
        finish()
        exit(code)
    }

    static var worldSize: Int {
        var s: Int32 = 1
        MPI_Comm_size(shim_MPI_COMM_WORLD(), &s)
        return Int(s)
    }
}
