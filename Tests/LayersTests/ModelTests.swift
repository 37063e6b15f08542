// ModelTests.swift — models as graphs: the built-in architectures' shapes and parameter counts, gradient checks
// through graphs with skips (ResNet blocks, U-Net concatenations, a node read three times), shape errors at
// build time, and initialisers keyed by (seed, parameter name).
import Testing
@testable import Layers
import Tensor

/// Finite-difference check of ∂L/∂θ for a whole model, L = Σ r·output, on up to `samples` parameters spread
/// over the flat vector. Tolerance as in GradientCheck.swift. In a whole network with ReLU or max-pooling, moving
/// one parameter by h can push some pre-activation across a kink, which spoils that one difference; an element
/// that disagrees is therefore retried at h/4 and h/16, where such a crossing vanishes while a wrong gradient
/// stays wrong.
private func modelGradientCheck(_ model: Model, batch: Int, context: PassContext = PassContext(training: true, seed: 1),
                                samples: Int = 400, corrupt: Bool = false) -> (passed: Bool, report: String) {
    let r = RandomStream(seed: 21, name: "model/x")
    for i in 0..<model.input.capacity { model.input[i] = r.normal(UInt64(i)) }
    model.initialize(seed: 3, .kaimingNormal, gain: 1)
    // Non-trivial BatchNorm affine parameters, so the check exercises them.
    for e in model.layout where e.name.hasSuffix(".gamma") || e.name.hasSuffix(".beta") {
        for i in 0..<e.count { model.parameters[e.offset + i] += 0.3 * r.normal(UInt64(1_000_000 + e.offset + i)) }
    }
    let out = model.forward(batch: batch, context)
    let proj = RandomStream(seed: 22, name: "model/r")
    for i in 0..<out.count { model.outputGradient[i] = proj.normal(UInt64(i)) }
    model.backward(context)
    if corrupt { model.gradients[model.parameterCount / 2] += 0.05 * model.gradients.values.map(abs).max()! + 1e-3 }
    let analytic = model.gradients.values
    let scale = Double(analytic.map(abs).max()!)
    func loss() -> Double {
        let y = model.forward(batch: batch, context)
        var s = 0.0
        for i in 0..<y.count { s += Double(model.outputGradient[i]) * Double(y[i]) }
        return s
    }
    let stride = max(1, model.parameterCount / samples)
    var indices = Array(Swift.stride(from: 0, to: model.parameterCount, by: stride))
    indices.append(model.parameterCount / 2)
    func numeric(_ j: Int, _ h: Float) -> Double {
        let saved = model.parameters[j]
        model.parameters[j] = saved + h; let up = loss()
        model.parameters[j] = saved - h; let down = loss()
        model.parameters[j] = saved
        return (up - down) / Double(2 * h)
    }
    func agrees(_ a: Float, _ n: Double) -> Bool { abs(Double(a) - n) <= 2e-3 * scale + 1e-2 * abs(n) }
    for j in indices {
        let n = numeric(j, 1e-2)
        if !agrees(analytic[j], n) && !agrees(analytic[j], numeric(j, 2.5e-3)) && !agrees(analytic[j], numeric(j, 6.25e-4)) {
            let numeric = n
            let name = model.layout.last { $0.offset <= j }!.name
            return (false, "\(name) element \(j): analytic \(analytic[j]) numeric \(numeric) scale \(scale)")
        }
    }
    return (true, "ok")
}

@Suite("Models")
struct ModelTests {
    @Test("MLP 784-1024-10: shapes and 814,090 parameters") func mlp() throws {
        let m = try ModelSpec(.mlp(hidden: [1024])).build(input: [1, 28, 28], classes: 10, maxBatch: 128)
        #expect(m.outputShape == [10])
        #expect(m.parameterCount == 784 * 1024 + 1024 + 1024 * 10 + 10)
        #expect(m.layout.map(\.name) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
    }

    @Test("LeNet-5: 61,706 parameters on 28×28 and on 3×32×32 (CIFAR-10: 62,006)") func lenet() throws {
        let m = try ModelSpec(.lenet5).build(input: [1, 28, 28], classes: 10, maxBatch: 4)
        #expect(m.parameterCount == 61_706)
        #expect(m.nodes.first { $0.name == "pool2" }!.shape == [16, 5, 5])
        let c = try ModelSpec(.lenet5).build(input: [3, 32, 32], classes: 10, maxBatch: 4)
        #expect(c.parameterCount == 61_706 + 2 * 6 * 25)
    }

    @Test("Width-scalable CNN, ResNet and U-Net build with the expected shapes") func scalable() throws {
        let cnn = try ModelSpec(.cnn(width: 4)).build(input: [1, 28, 28], classes: 10, maxBatch: 2)
        #expect(cnn.outputShape == [10])
        #expect(cnn.nodes.first { $0.name == "conv4" }!.shape == [32, 7, 7])
        let resnet = try ModelSpec(.resnet(width: 4, blocks: [1, 1, 1])).build(input: [3, 32, 32], classes: 10, maxBatch: 2)
        #expect(resnet.nodes.first { $0.name == "s3b1_add" }!.shape == [16, 8, 8])
        let unet = try ModelSpec(.unet(depth: 2, channels: 4)).build(input: [1, 16, 16], classes: 6, maxBatch: 2)
        #expect(unet.outputShape == [6, 16, 16])
        #expect(unet.nodes.first { $0.name == "skip1" }!.shape == [8, 16, 16])
        // Width scales the parameter count roughly quadratically.
        let wide = try ModelSpec(.cnn(width: 8)).build(input: [1, 28, 28], classes: 10, maxBatch: 2)
        #expect(wide.parameterCount > 3 * cnn.parameterCount)
    }

    @Test("Gradients through an MLP with dropout, LeNet-5 and a chain of every activation") func chains() throws {
        let mlp = try ModelSpec(.mlp(hidden: [7, 5]), activation: .tanh, dropout: 0.2).build(input: [3, 4], classes: 3, maxBatch: 4)
        var result = modelGradientCheck(mlp, batch: 4)
        #expect(result.passed, "\(result.report)")
        let lenet = try ModelSpec(.lenet5).build(input: [1, 28, 28], classes: 10, maxBatch: 2)
        result = modelGradientCheck(lenet, batch: 2, samples: 300)
        #expect(result.passed, "\(result.report)")
        #expect(!modelGradientCheck(lenet, batch: 2, samples: 300, corrupt: true).passed)
        let list: [LayerSpec] = [
            LayerSpec("conv2d", ["out": 3, "kernel": 3, "padding": 1]), LayerSpec("elu"), LayerSpec("avgpool", ["kernel": 2]),
            LayerSpec("batchnorm"), LayerSpec("tanh"), LayerSpec("flatten"), LayerSpec("dense", ["out": 6]),
            LayerSpec("sigmoid"), LayerSpec("dense", ["out": 4]), LayerSpec("leaky_relu", ["alpha": 0.2]), LayerSpec("dense", ["out": 2]),
        ]
        let chain = try ModelSpec(.layers(list)).build(input: [2, 6, 6], classes: 2, maxBatch: 3)
        result = modelGradientCheck(chain, batch: 3)
        #expect(result.passed, "\(result.report)")
    }

    @Test("Gradients through residual blocks (ResNet, BatchNorm in training and evaluation)", arguments: [true, false])
    func resnet(training: Bool) throws {
        let m = try ModelSpec(.resnet(width: 2, blocks: [1, 2]), activation: .tanh).build(input: [2, 6, 6], classes: 3, maxBatch: 3)
        let result = modelGradientCheck(m, batch: 3, context: PassContext(training: training))
        #expect(result.passed, "\(result.report)")
        #expect(!modelGradientCheck(m, batch: 3, context: PassContext(training: training), corrupt: true).passed)
    }

    @Test("Gradients through U-Net skips (Concat, Upsample)") func unet() throws {
        let m = try ModelSpec(.unet(depth: 2, channels: 2), activation: .elu(1), batchNorm: false).build(input: [1, 8, 8], classes: 3, maxBatch: 2)
        let result = modelGradientCheck(m, batch: 2)
        #expect(result.passed, "\(result.report)")
    }

    @Test("A node read by three layers sums its three gradients") func fanOut() throws {
        let list: [LayerSpec] = [
            LayerSpec("dense", name: "a", ["out": 5]),
            LayerSpec("tanh", name: "t1", inputs: ["a"]),
            LayerSpec("sigmoid", name: "t2", inputs: ["a"]),
            LayerSpec("add", name: "sum", inputs: ["t1", "t2", "a"]),
            LayerSpec("dense", name: "out", ["out": 2]),
        ]
        let m = try ModelSpec(.layers(list)).build(input: [4], classes: 2, maxBatch: 3)
        let result = modelGradientCheck(m, batch: 3)
        #expect(result.passed, "\(result.report)")
    }

    @Test("The last batch of an epoch may be smaller: same results as a model built for it") func smallerBatch() throws {
        let big = try ModelSpec(.lenet5).build(input: [1, 28, 28], classes: 10, maxBatch: 8)
        let small = try ModelSpec(.lenet5).build(input: [1, 28, 28], classes: 10, maxBatch: 3)
        big.initialize(seed: 1, .kaimingNormal, gain: 1); small.initialize(seed: 1, .kaimingNormal, gain: 1)
        for i in 0..<3 * 784 { big.input[i] = Float(i % 17) / 17; small.input[i] = Float(i % 17) / 17 }
        _ = big.forward(batch: 8, PassContext(training: true))
        let a = big.forward(batch: 3, PassContext(training: true)).values
        let b = small.forward(batch: 3, PassContext(training: true)).values
        #expect(a == b)
    }
}

@Suite("Model errors name the layer and both shapes")
struct ModelErrorTests {
    private func message(_ body: () throws -> Model) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func denseOnImage() {
        let m = message { try ModelSpec(.layers([LayerSpec("conv2d", ["out": 4, "kernel": 3]), LayerSpec("dense", ["out": 10])]))
            .build(input: [1, 8, 8], classes: 10, maxBatch: 1) }
        #expect(m == "model: layer 'dense1' (Dense(10)) cannot take input [4, 6, 6]: expects a flat input [features], got [4, 6, 6]; add a Flatten before it")
    }

    @Test func kernelTooLarge() {
        let m = message { try ModelSpec(.lenet5).build(input: [1, 12, 12], classes: 10, maxBatch: 1) }
        #expect(m.contains("layer 'conv2'") && m.contains("[6, 4, 4]") && m.contains("5×5"), "\(m)")
    }

    @Test("shapes whose element or byte counts overflow are errors, not traps") func overflowingCounts() {
        let input = message { try ModelSpec(.mlp(hidden: [4])).build(input: [1 << 20, 1 << 21, 1 << 23], classes: 2, maxBatch: 1) }
        #expect(input == "model: the input [1048576, 2097152, 8388608] has more elements than a 64-bit count holds")
        let weight = message { try ModelSpec(.mlp(hidden: [1 << 32])).build(input: [1 << 32], classes: 2, maxBatch: 1) }
        #expect(weight == "model: layer 'fc1' (Dense(4294967296)) cannot take input [4294967296]: its weight [4294967296, 4294967296] has more elements than a 64-bit count holds")
        let bytes = message { try ModelSpec(.mlp(hidden: [1 << 31])).build(input: [1 << 30], classes: 2, maxBatch: 1) }
        #expect(bytes == "model: its parameters have more elements than a 64-bit count holds (at 'fc1.weight' [2147483648, 1073741824])")
        let batch = message { try ModelSpec(.mlp(hidden: [4])).build(input: [1 << 40], classes: 2, maxBatch: 1 << 22) }
        #expect(batch == "model: batches of 4194304 samples of the input [1099511627776] have more bytes than a 64-bit count holds")
    }

    @Test("a model larger than the machine's memory is an error with its size, not a failed allocation") func tooLargeForMemory() {
        // 795·10^11 parameters, 12 bytes each (with gradients and momentum), and 2 · 4 · 10^11 bytes of activations.
        let m = message { try ModelSpec(.mlp(hidden: [100_000_000_000])).build(input: [1, 28, 28], classes: 10, maxBatch: 1) }
        #expect(m.hasPrefix("model: 79500000000010 parameters and the activations of batches of 1 need at least 955600.0 GB, but this machine has ")
                && m.hasSuffix("GB of memory; HINT: a smaller model, optim.batch_size or eval.batch_size"), "\(m)")
    }

    @Test func addMismatch() {
        let m = message { try ModelSpec(.layers([
            LayerSpec("dense", name: "a", ["out": 4]), LayerSpec("dense", name: "b", inputs: ["input"], ["out": 5]),
            LayerSpec("add", name: "sum", inputs: ["a", "b"]),
        ])).build(input: [3], classes: 2, maxBatch: 1) }
        #expect(m == "model: layer 'sum' (Add) cannot take input [4] and [5]: needs inputs of one shape, got [4] and [5]")
    }

    @Test func concatMismatch() {
        let m = message { try ModelSpec(.layers([
            LayerSpec("maxpool", name: "half", ["kernel": 2]), LayerSpec("concat", inputs: ["input", "half"]),
        ])).build(input: [1, 4, 4], classes: 2, maxBatch: 1) }
        #expect(m.contains("'concat1'") && m.contains("[1, 4, 4] and [1, 2, 2]"), "\(m)")
    }

    @Test func unetIndivisible() {
        let m = message { try ModelSpec(.unet(depth: 3, channels: 4)).build(input: [1, 20, 20], classes: 2, maxBatch: 1) }
        #expect(m.contains("multiples of 8") && m.contains("[1, 20, 20]"), "\(m)")
    }

    @Test func layerListProblems() {
        #expect(message { try ModelSpec(.layers([LayerSpec("convolution")])).build(input: [1], classes: 1, maxBatch: 1) }
            .hasPrefix("model.layers[1] (convolution): unknown layer kind"))
        #expect(message { try ModelSpec(.layers([LayerSpec("conv2d", ["out": 3, "kernal": 3])])).build(input: [1, 4, 4], classes: 1, maxBatch: 1) }
            == "model.layers[1] (conv2d): unknown option 'kernal'; it takes out, kernel, stride, padding, bias")
        #expect(message { try ModelSpec(.layers([LayerSpec("dense")])).build(input: [4], classes: 1, maxBatch: 1) }
            == "model.layers[1] (dense): missing option 'out'")
        #expect(message { try ModelSpec(.layers([LayerSpec("relu", inputs: ["nowhere"])])).build(input: [4], classes: 1, maxBatch: 1) }
            == "model.layers[1] (relu): input 'nowhere' is not the name of an earlier layer")
        #expect(message { try ModelSpec(.layers([LayerSpec("dense", name: "x", ["out": 3]), LayerSpec("dense", name: "x", ["out": 3])])).build(input: [4], classes: 1, maxBatch: 1) }
            == "model: two layers are named 'x'")
        #expect(message { try ModelSpec(.layers([LayerSpec("dense", name: "dead", ["out": 3]), LayerSpec("dense", inputs: ["input"], ["out": 3])])).build(input: [4], classes: 1, maxBatch: 1) }
            == "model: the output of layer 'dead' is never used")
        #expect(message { try ModelSpec(.layers([LayerSpec("dropout", ["p": 1.5])])).build(input: [4], classes: 1, maxBatch: 1) }
            .contains("needs 0 ≤ p < 1"))
    }
}

@Suite("Initialisers")
struct InitializerTests {
    @Test("variance matches the definition", arguments: [Initializer.kaimingNormal, .kaimingUniform, .xavierNormal, .xavierUniform, .normal(std: 0.01)])
    func variance(_ initializer: Initializer) {
        let (fanIn, fanOut, n) = (400, 120, 48_000)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n); defer { p.deallocate() }
        let gain = Float(2).squareRoot()
        initializer.fill(p, count: n, fanIn: fanIn, fanOut: fanOut, gain: gain, seed: 0, name: "fc1.weight")
        var s = 0.0, ss = 0.0
        for i in 0..<n { s += Double(p[i]); ss += Double(p[i]) * Double(p[i]) }
        let mean = s / Double(n), variance = ss / Double(n) - mean * mean
        let g2 = Double(gain * gain)
        let expected: Double = switch initializer {
        case .kaimingNormal, .kaimingUniform: g2 / Double(fanIn)
        case .xavierNormal, .xavierUniform: 2 / Double(fanIn + fanOut)   // gain applies too: use g² below
        case .normal(let std): Double(std * std)
        case .zeros: 0
        }
        let target = [.xavierNormal, .xavierUniform].contains(initializer) ? expected * g2 : expected
        // Sample variance of 48,000 draws: relative standard error √(2/n) ≈ 0.65 %; allow 4 %.
        #expect(abs(variance / target - 1) < 0.04, "\(initializer): variance \(variance), expected \(target)")
        #expect(abs(mean) < 4 * (target / Double(n)).squareRoot())
    }

    @Test("same seed → same model; weights keyed by name, not by position or rank count") func keyed() throws {
        let a = try ModelSpec(.mlp(hidden: [16])).build(input: [8], classes: 3, maxBatch: 1)
        let b = try ModelSpec(.mlp(hidden: [16])).build(input: [8], classes: 3, maxBatch: 64)
        a.initialize(seed: 5, .kaimingNormal, gain: 1.4); b.initialize(seed: 5, .kaimingNormal, gain: 1.4)
        #expect(a.parameters.values == b.parameters.values)
        b.initialize(seed: 6, .kaimingNormal, gain: 1.4)
        #expect(a.parameters.values != b.parameters.values)
        // A deeper MLP has the same fc1 weights: adding a layer changes nothing else.
        let deeper = try ModelSpec(.mlp(hidden: [16, 16])).build(input: [8], classes: 3, maxBatch: 1)
        deeper.initialize(seed: 5, .kaimingNormal, gain: 1.4)
        let e = a.entry("fc1.weight")!
        #expect(Array(a.parameters.values[e.offset..<e.offset + e.count]) == Array(deeper.parameters.values[e.offset..<e.offset + e.count]))
        #expect(a.parameters[a.entry("fc1.bias")!.offset] == 0)
    }

    @Test("LeNet-5 pools before its activation: identical outputs and gradients to activation then pooling")
    func poolThenActivate() throws {
        func lenet(poolFirst: Bool) throws -> Model {
            var g = GraphBuilder(inputShape: [1, 28, 28])
            for (i, channels) in [6, 16].enumerated() {
                try g.add(Conv2D(channels, kernel: 5, padding: i == 0 ? 2 : 0), name: "conv\(i + 1)")
                if poolFirst { try g.add(MaxPool2D(2), name: "pool\(i + 1)") }
                try g.add(Activation(.relu), name: "act\(i + 1)")
                if !poolFirst { try g.add(MaxPool2D(2), name: "pool\(i + 1)") }
            }
            try g.add(Flatten(), name: "flatten")
            try g.add(Dense(10), name: "fc")
            return try g.build(maxBatch: 4)
        }
        let (a, b) = (try lenet(poolFirst: true), try lenet(poolFirst: false))
        let built = try ModelSpec(.lenet5).build(input: [1, 28, 28], classes: 10, maxBatch: 4)
        #expect(built.nodes.map(\.name).dropFirst().prefix(6) == ["conv1", "pool1", "act1", "conv2", "pool2", "act2"])
        let r = RandomStream(seed: 8, name: "lenet/order")
        for m in [a, b] {
            m.initialize(seed: 4, .kaimingNormal, gain: 1)
            for i in 0..<m.input.capacity { m.input[i] = r.normal(UInt64(i)) }
        }
        let context = PassContext(training: true, seed: 1)
        let (ya, yb) = (a.forward(batch: 4, context).values, b.forward(batch: 4, context).values)
        #expect(ya == yb)
        for i in 0..<ya.count { a.outputGradient[i] = r.normal(UInt64(10_000 + i)); b.outputGradient[i] = a.outputGradient[i] }
        a.backward(context); b.backward(context)
        #expect(a.gradients.values == b.gradients.values)
    }
}

