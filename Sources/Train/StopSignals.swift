// StopSignals.swift — SIGUSR1 and SIGTERM (what Slurm sends before a time limit or preemption) ask the run to
// stop: the handler only sets a flag; the ranks agree on it at the next step boundary, write a checkpoint and
// exit with `StopSignals.exitCode`. A second SIGTERM ends the process at once (exit 143, as the default
// action would).
#if canImport(Glibc)
import Glibc
#endif

public enum StopSignals {
    /// Exit status of a run that stopped on a signal after writing its checkpoint (EX_TEMPFAIL: "try again";
    /// the run resumes from the checkpoint when started again).
    public static let exitCode: Int32 = 75

    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    /// Installs the handlers (idempotent).
    public static func install() {
        for sig in [SIGUSR1, SIGTERM] {
            signal(sig) { sig in
                if sig == SIGTERM && StopSignals.received == SIGTERM { _exit(143) }
                StopSignals.received = sig
            }
        }
        // A parent may start us with these blocked (a Swift Foundation Process does): they would never arrive.
        var handled = sigset_t()
        sigemptyset(&handled); sigaddset(&handled, SIGUSR1); sigaddset(&handled, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    /// The signal that asked for a stop, or 0.
    public static var requested: Int32 { received }
}
