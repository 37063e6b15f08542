// Schema.swift — every key a job file may hold: its table, type, default, allowed range and meaning. Parsing,
// validation, `descent train --help`, docs/job-files.md and the effective job.toml are all driven from here,
// so a key exists in exactly one place.

public struct KeySpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case int(min: Int, max: Int)
        case double(min: Double, max: Double, minExclusive: Bool)
        case bool
        case choice([String])
        case string
        case ints(min: Int)
        case doubles
        /// An array of inline tables: the explicit layer list of a model.
        case layers
    }
    public let key: String          // "optim.lr"
    public let kind: Kind
    /// nil: optional, absent unless given.
    public let defaultValue: JobValue?
    public let help: String

    public var table: String { String(key.split(separator: ".")[0]) }
    public var name: String { String(key.split(separator: ".")[1]) }

    /// The type and range as a person reads them: "number > 0", "one of: none, unit, standardize".
    public var typeDescription: String {
        switch kind {
        case .int(let lo, let hi): hi == Int.max ? "integer ≥ \(lo)" : "integer in \(lo)…\(hi)"
        case .double(let lo, let hi, let open):
            hi == .infinity ? "number \(open ? ">" : "≥") \(JobValue.double(lo))" : "number in \(open ? "(" : "[")\(JobValue.double(lo)), \(JobValue.double(hi))]"
        case .bool: "true or false"
        case .choice(let c): "one of: " + c.joined(separator: ", ")
        case .string: "string"
        case .ints(let lo): "list of integers ≥ \(lo)"
        case .doubles: "list of numbers"
        case .layers: "list of tables { type = \"…\", … }"
        }
    }
}

public enum Schema {
    private static func k(_ key: String, _ kind: KeySpec.Kind, _ value: JobValue?, _ help: String) -> KeySpec {
        KeySpec(key: key, kind: kind, defaultValue: value, help: help)
    }
    private static let positive = KeySpec.Kind.double(min: 0, max: .infinity, minExclusive: true)
    private static let nonNegative = KeySpec.Kind.double(min: 0, max: .infinity, minExclusive: false)
    private static let fraction = KeySpec.Kind.double(min: 0, max: 1, minExclusive: false)
    private static func atLeast(_ n: Int) -> KeySpec.Kind { .int(min: n, max: Int.max) }

    public static let tables = ["run", "data", "model", "optim", "checkpoint", "eval", "slurm"]

    public static let keys: [KeySpec] = [
        k("run.name", .string, nil, "Run name; the run directory is <run.output>/<run.name>. Default: the job file's name."),
        k("run.seed", atLeast(0), .int(0), "Seed of every random draw (initialisation, sample order, dropout, corruptions)."),
        k("run.epochs", atLeast(1), .int(10), "Number of passes over the training set."),
        k("run.output", .string, .string("runs"), "Directory that holds run directories."),
        k("run.stop_at_zero_train_error", .bool, .bool(false), "Stop once the training set is fitted exactly (evaluates the training set every epoch)."),
        k("run.gradient_reduction", .choice(["auto", "shared", "sharded", "allreduce"]), .string("auto"), "How ranks combine gradients: shared = the ranks of a node keep gradients and one copy of the parameters in shared memory, each sums and updates its slice in place (one allreduce of the slice across nodes), and large Dense layers are split by output units across the node's ranks; sharded = reduce-scatter, each rank updates its slice of parameters and momentum, allgather (ZeRO-1); allreduce = one allreduce, every rank updates everything; auto = shared on several ranks (sharded when nodes hold different numbers of ranks). Results are the same either way."),
        k("run.sync_batchnorm", .bool, .bool(false), "Data-parallel runs: BatchNorm normalises with the statistics of the whole global batch, summed over the ranks at every BatchNorm layer in each step (SyncBatchNorm), so that P ranks train what 1 rank would; false = each rank normalises its own part of the batch (DDP's default; cheaper, but the statistics of small per-rank batches are noisy)."),

        k("data.set", .choice(["fashion-mnist", "mnist", "cifar10", "hdf5"]), .string("fashion-mnist"), "Data set format and defaults."),
        k("data.path", .string, nil, "Directory of the data files (IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; CIFAR-10: data_batch_1..5.bin, test_batch.bin; hdf5: train.h5, test.h5). Default for fashion-mnist: /usr/share/datasets/fashion-mnist."),
        k("data.subset", atLeast(0), .int(0), "Train on n samples only (0: all)."),
        k("data.subset_mode", .choice(["stratified", "first"]), .string("stratified"), "How the subset is drawn: the same share of every class (seeded) or the first n samples."),
        k("data.test_subset", atLeast(0), .int(0), "Evaluate on the first n test samples only (0: all)."),
        k("data.normalize", .choice(["none", "unit", "standardize"]), .string("unit"), "Pixels as 0…255, scaled to [0, 1], or standardised per channel ((x − mean)/std, from data.mean/data.std or computed on the training set)."),
        k("data.mean", .doubles, nil, "Per-channel means in [0, 1] units for standardize (default: computed)."),
        k("data.std", .doubles, nil, "Per-channel standard deviations in [0, 1] units for standardize (default: computed)."),
        k("data.negative", .choice(["none", "train", "test", "both"]), .string("none"), "Use negative images (1 − x) for the training set, the test set or both."),
        k("data.label_noise", fraction, .double(0), "Replace each training label with a uniformly random class with this probability (Zhang et al. 2017)."),
        k("data.corruption", .choice(["none", "random_labels", "shuffled_pixels", "random_pixels", "gaussian"]), .string("none"), "Zhang et al. 2017: all labels random; pixels shuffled by one fixed permutation; pixels shuffled by a per-image permutation; Gaussian pixels with the data set's mean and variance."),
        k("data.corrupt_test", .bool, .bool(true), "Apply pixel corruptions to the test set too (label corruptions never are)."),
        k("data.augment", .choice(["none", "flip_rotate"]), .string("none"), "flip_rotate: each training sample (and its mask, if it has one) flipped and rotated by a multiple of 90° at random each step (a Descent sample file: segmentation tiles, or images with one label each)."),

        k("model.architecture", .choice(["mlp", "lenet5", "cnn", "resnet", "unet", "layers"]), .string("mlp"), "Built-in architecture, or an explicit layer list (model.layers)."),
        k("model.hidden", .ints(min: 1), .array([.int(1024)]), "mlp: widths of the hidden layers."),
        k("model.width", atLeast(1), .int(16), "cnn, resnet: base width k (channels k, 2k, 4k, 8k)."),
        k("model.blocks", .ints(min: 1), .array([.int(1), .int(1), .int(1), .int(1)]), "resnet: basic blocks per stage."),
        k("model.depth", atLeast(1), .int(3), "unet: number of poolings."),
        k("model.channels", atLeast(1), .int(16), "unet: channels at the first level."),
        k("model.activation", .choice(["relu", "leaky_relu", "elu", "sigmoid", "tanh", "identity"]), .string("relu"), "Nonlinearity of the built-in architectures."),
        k("model.alpha", positive, nil, "α of leaky_relu (default 0.01) or elu (default 1)."),
        k("model.init", .choice(["kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "normal", "zeros"]), .string("kaiming_normal"), "Weight initialiser (biases start at 0)."),
        k("model.init_std", positive, .double(0.01), "σ of the normal initialiser."),
        k("model.batchnorm", .bool, .bool(true), "cnn, unet: BatchNorm after each convolution (resnet always has it)."),
        k("model.dropout", .double(min: 0, max: 1, minExclusive: false), .double(0), "mlp: dropout after each hidden layer."),
        k("model.layers", .layers, nil, "layers: the list, e.g. [{ type = \"conv2d\", out = 6, kernel = 5 }, { type = \"relu\" }]; an entry may have name = \"…\" and inputs = [\"…\"]."),

        k("optim.batch_size", atLeast(1), .int(128), "Global batch size (split across ranks)."),
        k("optim.loss", .choice(["cross_entropy", "hinge", "mse", "l1", "bce"]), .string("cross_entropy"), "Training loss; mse, l1 and bce regress one-hot labels."),
        k("optim.class_weights", .doubles, nil, "cross_entropy: a weight per class (per pixel for segmentation), e.g. low for the background; as many as the data set has classes."),
        k("optim.lr", positive, .double(0.01), "Base learning rate."),
        k("optim.momentum", .double(min: 0, max: 1, minExclusive: false), .double(0), "Momentum μ (PyTorch semantics)."),
        k("optim.nesterov", .bool, .bool(false), "Nesterov momentum (needs momentum > 0)."),
        k("optim.dampening", fraction, .double(0), "Momentum dampening τ."),
        k("optim.l2", nonNegative, .double(0), "L2 penalty (PyTorch's weight_decay): adds l2·w to the gradient."),
        k("optim.l1", nonNegative, .double(0), "L1 penalty: adds l1·sign(w) to the gradient."),
        k("optim.schedule", .choice(["constant", "step", "multistep", "cosine"]), .string("constant"), "Learning-rate schedule."),
        k("optim.step_every", atLeast(1), .int(30), "step: multiply by gamma every n epochs."),
        k("optim.milestones", .ints(min: 1), .array([]), "multistep: epochs (0-based) at which the rate is multiplied by gamma; [100] with gamma 0.5 halves it for epochs 101…"),
        k("optim.gamma", positive, .double(0.1), "step, multistep: the factor."),
        k("optim.min_lr", nonNegative, .double(0), "cosine: the final rate."),
        k("optim.cosine_epochs", atLeast(0), .int(0), "cosine: period in epochs (0: run.epochs)."),
        k("optim.warmup_epochs", nonNegative, .double(0), "Linear warm-up over this many epochs (fractions allowed)."),

        k("checkpoint.every", .string, .string("1 epoch"), "How often to checkpoint: \"N epochs\" or \"N steps\" (always at the end)."),
        k("checkpoint.keep", atLeast(1), .int(3), "Number of recent checkpoints kept."),

        k("eval.train", .bool, .bool(false), "Evaluate the whole training set each epoch (otherwise train loss/error are running averages over the epoch's steps)."),
        k("eval.every", atLeast(1), .int(1), "Evaluate every n epochs (and always after the last)."),
        k("eval.batch_size", atLeast(1), .int(500), "Batch size of evaluation passes."),

        k("slurm.nodes", atLeast(1), .int(1), "Nodes to request."),
        k("slurm.ntasks_per_node", atLeast(1), .int(1), "MPI ranks per node."),
        k("slurm.cpus_per_task", atLeast(1), .int(1), "CPUs per rank (OpenBLAS threads per rank)."),
        k("slurm.time", .string, .string("01:00:00"), "Time limit, in sbatch --time's formats: HH:MM:SS, D-HH:MM:SS, D-HH, D-HH:MM, MM:SS or MM (a bare number is minutes)."),
        k("slurm.partition", .string, nil, "Partition."),
        k("slurm.account", .string, nil, "Account."),
        k("slurm.launcher", .choice(["srun", "mpirun"]), .string("srun"), "How the batch script starts the ranks."),
        k("slurm.signal_seconds", atLeast(10), .int(120), "Seconds before the time limit at which Slurm sends USR1 (checkpoint and requeue)."),
        k("slurm.max_requeues", atLeast(0), .int(3), "Requeues allowed after preemption or time limit."),
    ]

    public static let byKey: [String: KeySpec] = Dictionary(uniqueKeysWithValues: keys.map { ($0.key, $0) })

    /// The closest known key, for "did you mean" hints.
    public static func suggestion(for key: String) -> String? {
        let best = keys.map { ($0.key, editDistance($0.key, key)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }
}
