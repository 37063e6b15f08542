// StepLoop.swift — runs K training steps (forward, loss, backward, SGD update) of a built-in model and nothing
// else, so that `valgrind` can count heap allocations: the count for K = 10 minus the count for K = 5 is what
// five steps allocate, which must be zero once the model is built (see bench/README.md).
import Layers
import Optim
import Tensor

func runSteps(model name: String, steps: Int) throws {
    let spec: ModelSpec
    var input = [1, 28, 28]
    switch name {
    case "mlp": spec = ModelSpec(.mlp(hidden: [1024]), dropout: 0.1)
    case "lenet5": spec = ModelSpec(.lenet5)
    case "resnet": spec = ModelSpec(.resnet(width: 4, blocks: [1, 1]))
    case "unet": spec = ModelSpec(.unet(depth: 2, channels: 4)); input = [1, 32, 32]
    default: print("unknown model \(name): mlp | lenet5 | resnet | unet"); return
    }
    let batch = 32
    let model = try spec.build(input: input, classes: 10, maxBatch: batch)
    model.initialize(seed: 0, spec.initializer, gain: spec.gain)
    let momentum = FlatVector(count: model.parameterCount)
    let sgd = try SGD(momentum: 0.9, nesterov: true, weightDecay: 1e-3)
    let outputSize = model.outputShape.reduce(1, *) / 10   // pixels per sample for the U-Net
    let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch * max(outputSize, 1))
    defer { labels.deallocate() }
    for i in 0..<batch * max(outputSize, 1) { labels[i] = Int32(i % 10) }
    let loss = SoftmaxCrossEntropy()
    for step in 0..<steps {
        for i in 0..<model.input.count { model.input[i] = Float((i + step) % 13) / 13 }
        let ctx = PassContext(training: true, seed: 0, step: UInt64(step), sampleOffset: 0)
        let out = model.forward(batch: batch, ctx)
        _ = loss.evaluate(out, .labels(labels), gradient: model.outputGradient, scale: 1 / Float(batch))
        model.backward(ctx)
        sgd.update(parameters: model.parameters.data, gradients: model.gradients.data, momentumBuffer: momentum.data,
                   count: model.parameterCount, lr: 0.01, firstStep: step == 0)
    }
}
