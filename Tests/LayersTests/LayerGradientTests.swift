// LayerGradientTests.swift — every layer's backward against finite differences of its forward, with respect to
// every input and every parameter, at several shapes including stride and padding edge cases. Each check is
// also run with one gradient element sabotaged, and must then fail (see GradientCheck.swift).
import Testing
@testable import Layers
import Tensor

@Suite("Layer gradients (finite differences)")
struct LayerGradientTests {
    @Test("Dense", arguments: [(5, 3, 1, true), (7, 4, 3, true), (1, 1, 2, false), (16, 9, 5, true)])
    func dense(inputs: Int, outputs: Int, batch: Int, bias: Bool) throws {
        try expectGradientsCorrect { try Harness(Dense(outputs, bias: bias), inputs: [[inputs]], batch: batch) }
    }

    struct ConvCase: CustomTestStringConvertible, Sendable {
        var c: Int, h: Int, w: Int, out: Int, k: Int, stride: Int, pad: Int, batch: Int, chunkBytes: Int = 256 << 10,
            keptBytes: Int = 64 << 20
        var testDescription: String {
            "in \(c)×\(h)×\(w) → \(out) k\(k) s\(stride) p\(pad) n\(batch)"
                + (chunkBytes < 1 << 16 ? keptBytes < 1 << 16 ? " chunked, columns recomputed" : " chunked, columns kept" : "")
        }
    }

    @Test("Conv2D", arguments: [
        ConvCase(c: 1, h: 6, w: 6, out: 2, k: 3, stride: 1, pad: 0, batch: 2),
        ConvCase(c: 2, h: 5, w: 7, out: 3, k: 3, stride: 2, pad: 1, batch: 2),     // non-square, stride 2, pad 1
        ConvCase(c: 3, h: 6, w: 5, out: 2, k: 5, stride: 1, pad: 2, batch: 1),     // LeNet's "same" 5×5
        ConvCase(c: 2, h: 7, w: 7, out: 2, k: 3, stride: 3, pad: 0, batch: 2),     // stride leaves a remainder
        ConvCase(c: 2, h: 4, w: 4, out: 3, k: 1, stride: 1, pad: 0, batch: 3),     // 1×1
        ConvCase(c: 1, h: 3, w: 3, out: 2, k: 4, stride: 1, pad: 1, batch: 2),     // kernel larger than input
        ConvCase(c: 2, h: 5, w: 5, out: 2, k: 3, stride: 2, pad: 2, batch: 2),     // padding wider than needed
        ConvCase(c: 2, h: 6, w: 6, out: 3, k: 3, stride: 1, pad: 1, batch: 5, chunkBytes: 2 * 18 * 36 * 4,
                 keptBytes: 2 * 18 * 36 * 4),                                      // chunks of 2, backward's im2col again
        ConvCase(c: 2, h: 6, w: 6, out: 3, k: 3, stride: 1, pad: 1, batch: 5, chunkBytes: 2 * 18 * 36 * 4), // chunks of 2, kept
    ])
    func conv(_ k: ConvCase) throws {
        try expectGradientsCorrect {
            try Harness(Conv2D(k.out, kernel: k.k, stride: k.stride, padding: k.pad, chunkBytes: k.chunkBytes, maxColumnBytes: k.keptBytes),
                        inputs: [[k.c, k.h, k.w]], batch: k.batch)
        }
    }

    @Test("MaxPool2D", arguments: [(2, nil, 0, 6, 6), (3, 2, 0, 7, 7), (3, 2, 1, 6, 5), (2, 1, 0, 4, 5), (3, 3, 1, 5, 5)] as [(Int, Int?, Int, Int, Int)])
    func maxPool(kernel: Int, stride: Int?, padding: Int, h: Int, w: Int) throws {
        try expectGradientsCorrect {
            let harness = try Harness(MaxPool2D(kernel, stride: stride, padding: padding), inputs: [[2, h, w]], batch: 2)
            distinctValues(harness)
            return harness
        }
    }

    @Test("AvgPool2D", arguments: [(2, nil, 0, 6, 6), (3, 2, 1, 7, 6), (3, 1, 1, 4, 4), (2, 3, 0, 7, 7)] as [(Int, Int?, Int, Int, Int)])
    func avgPool(kernel: Int, stride: Int?, padding: Int, h: Int, w: Int) throws {
        try expectGradientsCorrect { try Harness(AvgPool2D(kernel, stride: stride, padding: padding), inputs: [[2, h, w]], batch: 2) }
    }

    @Test("GlobalAvgPool") func globalAvgPool() throws {
        try expectGradientsCorrect { try Harness(GlobalAvgPool(), inputs: [[3, 4, 5]], batch: 2) }
    }

    @Test("Flatten") func flatten() throws {
        try expectGradientsCorrect { try Harness(Flatten(), inputs: [[2, 3, 4]], batch: 2) }
    }

    @Test("Activations", arguments: [Nonlinearity.relu, .leakyRelu(0.1), .elu(1.0), .elu(0.5), .sigmoid, .tanh, .identity])
    func activation(_ f: Nonlinearity) throws {
        try expectGradientsCorrect {
            let harness = try Harness(Activation(f), inputs: [[3, 4]], batch: 3)
            keepAwayFromZero(harness)
            return harness
        }
    }

    @Test("Dropout (training: the mask is fixed by seed, step and sample)", arguments: [0.0, 0.3, 0.5] as [Float])
    func dropout(p: Float) throws {
        try expectGradientsCorrect { try Harness(Dropout(p), inputs: [[4, 5]], batch: 3) }
    }

    @Test("Dropout (evaluation: identity)") func dropoutEval() throws {
        try expectGradientsCorrect { try Harness(Dropout(0.5), inputs: [[6]], batch: 2, context: .evaluation) }
    }

    @Test("BatchNorm", arguments: [([5], true), ([3, 4, 4], true), ([5], false), ([2, 3, 3], false)] as [([Int], Bool)])
    func batchNorm(shape: [Int], training: Bool) throws {
        try expectGradientsCorrect {
            let harness = try Harness(BatchNorm(), inputs: [shape], batch: 4, context: PassContext(training: training))
            // Non-trivial running statistics for the evaluation mode.
            for i in 0..<harness.state.count { harness.state[i] = i < shape[0] ? 0.3 : 1.7 }
            return harness
        }
    }

    @Test("Add (residual)", arguments: [2, 3]) func add(inputs: Int) throws {
        try expectGradientsCorrect { try Harness(Add(), inputs: Array(repeating: [2, 3, 3], count: inputs), batch: 2) }
    }

    @Test("Concat (channels)") func concat() throws {
        try expectGradientsCorrect { try Harness(Concat(), inputs: [[2, 3, 3], [1, 3, 3], [3, 3, 3]], batch: 2) }
    }

    @Test("Concat (features)") func concatFlat() throws {
        try expectGradientsCorrect { try Harness(Concat(), inputs: [[4], [2]], batch: 3) }
    }

    @Test("Upsample ×2") func upsample() throws {
        try expectGradientsCorrect { try Harness(Upsample(), inputs: [[2, 3, 4]], batch: 2) }
    }
}
