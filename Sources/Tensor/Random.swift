// Random.swift — counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
//
// Every random draw in Descent is a pure function of (seed, stream, counter): the initial weights of parameter
// "conv1.weight" are stream hash("init/conv1.weight"), the epoch permutation is stream ("order", epoch), a dropout
// mask is keyed by (layer, step, global sample index). Nothing depends on how many ranks there are or on how
// far a process has run, so the same seed gives the same model and data order on any rank count, and a resumed
// run needs only (epoch, step) to continue exactly.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A keyed counter-based generator. Cheap to create; holds no state.
public struct Philox: Sendable, Hashable {
    public let key0: UInt32, key1: UInt32

    public init(seed: UInt64) {
        key0 = UInt32(truncatingIfNeeded: seed)
        key1 = UInt32(truncatingIfNeeded: seed >> 32)
    }

    /// The 128-bit block for the 128-bit counter (c0, c1, c2, c3).
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var (x0, x1, x2, x3) = (c0, c1, c2, c3)
        var (k0, k1) = (key0, key1)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (x0, x1, x2, x3) = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }
}

/// One named stream of a seeded generator: draw number i is a pure function of (seed, stream, i).
public struct RandomStream: Sendable, Hashable {
    public let generator: Philox
    public let stream: UInt64

    public init(seed: UInt64, stream: UInt64) {
        generator = Philox(seed: seed)
        self.stream = stream
    }

    /// A stream named by a string, e.g. `RandomStream(seed: 0, name: "init/dense1.weight")`.
    public init(seed: UInt64, name: String, index: UInt64 = 0) {
        self.init(seed: seed, stream: RandomStream.hash(name) ^ (index &* 0x9E37_79B9_7F4A_7C15))
    }

    /// Four independent 32-bit words for counter i.
    @inline(__always)
    public func words(_ i: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        generator.block(UInt32(truncatingIfNeeded: i), UInt32(truncatingIfNeeded: i >> 32),
                        UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32))
    }

    /// A 64-bit word for counter i.
    @inline(__always)
    public func uint64(_ i: UInt64) -> UInt64 {
        let w = words(i)
        return UInt64(w.0) | (UInt64(w.1) << 32)
    }

    /// Uniform in [0, 1) with 24 random bits, for counter i.
    @inline(__always)
    public func uniform(_ i: UInt64) -> Float {
        Float(words(i).0 >> 8) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public func uniformDouble(_ i: UInt64) -> Double {
        Double(uint64(i) >> 11) * 0x1p-53
    }

    /// Standard normal for counter i (Box–Muller on two 32-bit words; the result is exact to Float precision).
    @inline(__always)
    public func normal(_ i: UInt64) -> Float {
        let w = words(i)
        let u1 = (Double(w.0) + 0.5) * 0x1p-32   // in (0, 1): log is finite
        let u2 = Double(w.1) * 0x1p-32
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<n (n > 0), without modulo bias worth noticing (64-bit multiply-shift).
    @inline(__always)
    public func below(_ n: Int, _ i: UInt64) -> Int {
        Int(UInt64(n).multipliedFullWidth(by: uint64(i)).high)
    }

    /// A permutation of 0..<n (Fisher–Yates driven by counters 0..<n−1).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(i, below(i + 1, UInt64(i)))
            }
        }
        return p
    }

    /// FNV-1a, then a SplitMix64 finaliser: a stable 64-bit name hash (Swift's Hasher is seeded per process).
    public static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return mix(h)
    }

    /// SplitMix64's finaliser.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
