// InterruptCleanup.swift — an interrupted output command (Ctrl-C, or the SIGTERM that mpirun and Slurm send)
// removes the temporary files of the outputs it had not finished, then dies of the signal as it would have: no
// `NAME.tmp` is left beside the results. (kill -9 cannot be caught; its `.tmp` files are replaced on a rerun.)
#if canImport(Glibc)
import Glibc
#endif

enum InterruptCleanup {
    /// C strings the handler unlinks (unlink is async-signal-safe; a Swift array is not read in the handler).
    nonisolated(unsafe) private static var paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    nonisolated(unsafe) private static var count: sig_atomic_t = 0

    /// Removes `outputs` + ".tmp" on SIGINT or SIGTERM. Call once, before the first output is started; an output
    /// already renamed to its name is not touched (its `.tmp` no longer exists).
    static func removeTemporaries(of outputs: [String]) {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: max(outputs.count, 1))
        for (i, output) in outputs.enumerated() { table[i] = strdup(output + ".tmp") }
        paths = table
        count = sig_atomic_t(outputs.count)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                if let table = InterruptCleanup.paths {
                    for i in 0..<Int(InterruptCleanup.count) { if let p = table[i] { unlink(p) } }
                }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
        // A parent may start us with these blocked (a Swift Foundation Process does): they would never arrive.
        var handled = sigset_t()
        sigemptyset(&handled); sigaddset(&handled, SIGINT); sigaddset(&handled, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }
}
