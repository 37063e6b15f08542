// JobBuild.swift — what a job means for the trainer: the model spec, the optimiser, the learning rate, the loss.
// Every value here is already checked by the schema; the errors left are combinations (an explicit layer list
// entry with an unknown option, a schedule without milestones).
import Layers
import Optim

extension Job {
    /// The model spec of [model].
    public func modelSpec() throws -> ModelSpec {
        let alpha = optionalDouble("model.alpha").map { Float($0) }
        let activation: Nonlinearity = switch string("model.activation") {
        case "leaky_relu": .leakyRelu(alpha ?? 0.01)
        case "elu": .elu(alpha ?? 1)
        case "sigmoid": .sigmoid
        case "tanh": .tanh
        case "identity": .identity
        default: .relu
        }
        let initializer: Initializer = switch string("model.init") {
        case "kaiming_uniform": .kaimingUniform
        case "xavier_normal": .xavierNormal
        case "xavier_uniform": .xavierUniform
        case "normal": .normal(std: Float(double("model.init_std")))
        case "zeros": .zeros
        default: .kaimingNormal
        }
        let architecture: ModelSpec.Architecture
        switch string("model.architecture") {
        case "lenet5": architecture = .lenet5
        case "cnn": architecture = .cnn(width: int("model.width"))
        case "resnet": architecture = .resnet(width: int("model.width"), blocks: ints("model.blocks"))
        case "unet": architecture = .unet(depth: int("model.depth"), channels: int("model.channels"))
        case "layers": architecture = .layers(try layerList())
        default: architecture = .mlp(hidden: ints("model.hidden"))
        }
        return ModelSpec(architecture, activation: activation, initializer: initializer,
                         batchNorm: bool("model.batchnorm"), dropout: Float(double("model.dropout")))
    }

    /// model.layers as LayerSpecs: `type`, optional `name` and `inputs`, numeric options.
    private func layerList() throws -> [LayerSpec] {
        guard case .array(let items)? = values["model.layers"] else { return [] }
        return try items.enumerated().map { i, item in
            guard case .table(let t) = item else { throw JobError("\(source): model.layers[\(i + 1)] must be a table") }
            let at = "\(source): model.layers[\(i + 1)]"
            guard case .string(let type)? = t["type"] else { throw JobError("\(at) needs type = \"…\" (one of \(LayerSpec.kinds.joined(separator: ", ")))") }
            var name: String? = nil, inputs: [String] = [], options: [String: Double] = [:]
            for (k, v) in t where k != "type" {
                switch (k, v) {
                case ("name", .string(let s)): name = s
                case ("inputs", .array(let a)):
                    inputs = try a.map { if case .string(let s) = $0 { return s }; throw JobError("\(at): inputs must be a list of layer names") }
                case (_, .bool(let b)): options[k] = b ? 1 : 0
                case (_, let x) where x.doubleValue != nil: options[k] = x.doubleValue!
                default: throw JobError("\(at) (\(type)): option '\(k)' must be a number, got \(v.kindName)")
                }
            }
            return LayerSpec(type, name: name, inputs: inputs, options)
        }
    }

    /// The optimiser of [optim].
    public func sgd() throws -> SGD {
        do {
            return try SGD(momentum: Float(double("optim.momentum")), dampening: Float(double("optim.dampening")),
                           nesterov: bool("optim.nesterov"), weightDecay: Float(double("optim.l2")), l1: Float(double("optim.l1")))
        } catch let e as SGD.ConfigurationError {
            throw JobError("\(source): [optim] \(e.description)")
        }
    }

    /// The learning rate of [optim] for a run of `stepsPerEpoch` steps per epoch.
    public func learningRate(stepsPerEpoch: Int) throws -> LearningRate {
        let schedule: Schedule
        switch string("optim.schedule") {
        case "step": schedule = .step(every: int("optim.step_every"), factor: Float(double("optim.gamma")))
        case "multistep":
            let m = ints("optim.milestones")
            guard !m.isEmpty else { throw JobError("\(source): optim.schedule = \"multistep\" needs optim.milestones, e.g. [100]") }
            schedule = .multiStep(milestones: m, factor: Float(double("optim.gamma")))
        case "cosine":
            let period = int("optim.cosine_epochs")
            schedule = .cosine(epochs: period > 0 ? period : int("run.epochs"), minimum: Float(double("optim.min_lr")))
        default: schedule = .constant
        }
        let warmup = Int((double("optim.warmup_epochs") * Double(stepsPerEpoch)).rounded())
        return LearningRate(base: Float(double("optim.lr")), schedule: schedule, warmupSteps: warmup)
    }

    /// The training loss of [optim].
    public func loss() -> Loss {
        switch string("optim.loss") {
        case "hinge": MultiClassHinge()
        case "mse": MeanSquaredError()
        case "l1": MeanAbsoluteError()
        case "bce": BinaryCrossEntropyWithLogits()
        default: SoftmaxCrossEntropy(classWeights: doubles("optim.class_weights")?.map { Float($0) })
        }
    }

    /// The run directory: <run.output>/<run.name>.
    public var runDirectory: String {
        let out = string("run.output")
        return (out.hasSuffix("/") ? out : out + "/") + string("run.name")
    }
}
