// RandomTests.swift — Philox4x32-10 against the Random123 known-answer vectors, and the statistics and
// determinism of the streams built on it.
import Testing
@testable import Tensor

@Suite("Counter-based random numbers")
struct RandomTests {
    /// Known-answer vectors from Random123's kat_vectors (philox4x32 with 10 rounds).
    @Test("Philox4x32-10 known answers") func knownAnswers() {
        let zero = Philox(seed: 0).block(0, 0, 0, 0)
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox(seed: 0xffff_ffff_ffff_ffff).block(0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff)
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox(seed: 0x299f_31d0_a409_3822).block(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test("uniform in [0, 1) and normal have the right moments") func moments() {
        let r = RandomStream(seed: 42, name: "moments")
        let n = 200_000
        var su = 0.0, suu = 0.0, sn = 0.0, snn = 0.0
        for i in 0..<n {
            let u = Double(r.uniform(UInt64(i))); let z = Double(r.normal(UInt64(i)))
            #expect(u >= 0 && u < 1)
            su += u; suu += u * u; sn += z; snn += z * z
        }
        let N = Double(n)
        // Standard errors: uniform mean 0.29/√n ≈ 6.5e-4, normal mean 1/√n ≈ 2.2e-3; bounds are ~5σ.
        #expect(abs(su / N - 0.5) < 3e-3)
        #expect(abs(suu / N - su * su / N / N - 1.0 / 12) < 2e-3)
        #expect(abs(sn / N) < 1.2e-2)
        #expect(abs(snn / N - 1) < 1.6e-2)
    }

    @Test("streams are pure functions of (seed, name, counter)") func determinism() {
        let a = RandomStream(seed: 7, name: "init/fc1.weight"), b = RandomStream(seed: 7, name: "init/fc1.weight")
        #expect((0..<100).map { a.normal($0) } == (0..<100).map { b.normal($0) })
        let c = RandomStream(seed: 7, name: "init/fc2.weight"), d = RandomStream(seed: 8, name: "init/fc1.weight")
        #expect((0..<100).map { a.uint64($0) } != (0..<100).map { c.uint64($0) })
        #expect((0..<100).map { a.uint64($0) } != (0..<100).map { d.uint64($0) })
        #expect(RandomStream.hash("fc1") == 0x0 ^ RandomStream.hash("fc1"))
    }

    @Test("permutation is a permutation, seeded, and varies with the stream") func permutation() {
        let p = RandomStream(seed: 1, name: "order", index: 0).permutation(1000)
        #expect(p.sorted() == Array(0..<1000))
        #expect(p == RandomStream(seed: 1, name: "order", index: 0).permutation(1000))
        #expect(p != RandomStream(seed: 1, name: "order", index: 1).permutation(1000))
        #expect(RandomStream(seed: 1, name: "x").permutation(1) == [0])
    }

    @Test("below(n) is uniform over 0..<n") func below() {
        let r = RandomStream(seed: 5, name: "below")
        var counts = [Int](repeating: 0, count: 10)
        for i in 0..<100_000 { counts[r.below(10, UInt64(i))] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })   // σ ≈ 95
    }
}
