// DenormalsTests.swift — after Denormals.flushToZero a product below the smallest normal float is 0, and a
// subnormal input counts as 0. The test restores the thread's floating-point environment: tests share threads.
import Glibc
import Testing
import Tensor

@Suite("Subnormal floats")
struct DenormalsTests {
    @inline(never) func half(_ x: Float) -> Float { x * 0.5 }
    @inline(never) func plusOne(_ x: Float) -> Float { x + 1 }

    @Test("flushToZero makes subnormal results and inputs zero") func flushes() {
        var saved = fenv_t()
        fegetenv(&saved)
        defer { fesetenv(&saved) }
        let smallest = Float.leastNormalMagnitude * Float(Int.random(in: 1...1))   // not folded at compile time
        let subnormal = half(smallest)
        #expect(subnormal > 0 && subnormal < Float.leastNormalMagnitude)
        Denormals.flushToZero()
        #expect(Denormals.flushing)
        #expect(half(smallest) == 0)
        #expect(subnormal * 2 == 0)   // DAZ: the subnormal input reads as 0
        #expect(plusOne(smallest) == 1)
    }
}
