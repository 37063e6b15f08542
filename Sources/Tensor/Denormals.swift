// Denormals.swift — flushes subnormal floats to zero in this thread's arithmetic (the SSE/AVX control register's
// FTZ and DAZ bits). A long run's momentum and parameters decay through the subnormal range (a unit whose
// gradient stays 0 shrinks by the momentum factor every step), and x86 computes on subnormals through microcode
// assists up to a hundred times slower: after 200 epochs of the width sweep's MLP 784-4-10 the SGD update took
// 30.4 µs a step instead of 1.9. Magnitudes below 1.18e-38 then count as 0, in every rank and every attempt alike.
#if canImport(Glibc)
import Glibc
#endif

public enum Denormals {
    /// Flush-to-zero and denormals-are-zero for the calling thread (and the threads it starts from now on).
    /// Call first in `main`, on the thread that computes: OpenBLAS's own threads started before it keep the
    /// default, but with one BLAS thread per rank (Descent's default) every GEMM runs on the calling thread.
    public static func flushToZero() {
        #if arch(x86_64)
        var environment = fenv_t()
        fegetenv(&environment)
        environment.__mxcsr |= 0x8040   // FTZ (bit 15) | DAZ (bit 6)
        fesetenv(&environment)
        #endif
    }

    /// Whether the calling thread flushes subnormals to zero.
    public static var flushing: Bool {
        #if arch(x86_64)
        var environment = fenv_t()
        fegetenv(&environment)
        return environment.__mxcsr & 0x8040 == 0x8040
        #else
        return false
        #endif
    }
}
