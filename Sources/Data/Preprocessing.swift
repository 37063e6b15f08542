// Preprocessing.swift — from stored bytes to the floats a model trains on: subset, negative images, the
// corruptions of Zhang et al. 2017, normalisation. Every random choice is keyed by (seed, sample index in the
// file), so a sample is transformed the same way whichever rank holds it and whatever the rank count.
import Tensor

public struct DataOptions: Equatable, Sendable {
    public enum Normalization: String, Sendable { case none, unit, standardize }
    public enum Corruption: String, Sendable { case none, randomLabels = "random_labels", shuffledPixels = "shuffled_pixels", randomPixels = "random_pixels", gaussian }
    public enum SubsetMode: String, Sendable { case stratified, first }

    public var seed: UInt64 = 0
    public var subset = 0
    public var subsetMode = SubsetMode.stratified
    public var testSubset = 0
    public var normalization = Normalization.unit
    /// Per-channel mean and standard deviation in [0, 1] units for `standardize`; computed from the training set
    /// when nil.
    public var mean: [Float]? = nil
    public var std: [Float]? = nil
    public var negativeTrain = false
    public var negativeTest = false
    public var labelNoise: Float = 0
    public var corruption = Corruption.none
    public var corruptTest = true
    /// Training samples flipped and rotated by multiples of 90° (one of the 8 symmetries of the square, drawn per
    /// sample and step; masks follow their images). Descent sample files, with or without masks.
    public var flipRotate = false

    public init() {}
}

/// What turns sample i's bytes into floats; computed once from the options and the training set.
public struct SampleTransform: Sendable {
    public let shape: [Int]
    /// Per channel: x ↦ (x/255 − shift)·scale.
    public let shift: [Float], scale: [Float]
    public let negative: Bool
    public let corruption: DataOptions.Corruption
    /// The one fixed pixel permutation of `shuffled_pixels`.
    let fixedPermutation: [Int]?
    /// Per-channel mean and standard deviation of the raw pixels in [0, 1] units (for `gaussian`).
    let pixelMean: [Float], pixelStd: [Float]
    let seed: UInt64

    var sampleSize: Int { shape.reduce(1, *) }

    /// Normalisation only (no negative, no corruption): what a trained model applies to new samples.
    public static func normalization(shape: [Int], shift: [Float], scale: [Float]) -> SampleTransform {
        SampleTransform(shape: shape, shift: shift, scale: scale, negative: false, corruption: .none,
                        fixedPermutation: nil, pixelMean: shift, pixelStd: scale, seed: 0)
    }

    /// Writes the transformed sample `index` (its index in the file) into `out`.
    public func apply(index: Int, _ raw: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>) {
        let size = sampleSize, channels = shape[0], plane = size / channels
        for c in 0..<channels {
            let (s, k) = (shift[c], scale[c])
            let src = raw + c * plane, dst = out + c * plane
            if negative {
                for j in 0..<plane { dst[j] = (1 - Float(src[j]) * (1 / 255) - s) * k }
            } else {
                for j in 0..<plane { dst[j] = (Float(src[j]) * (1 / 255) - s) * k }
            }
        }
        switch corruption {
        case .none, .randomLabels: break
        case .shuffledPixels: permute(out, by: fixedPermutation!)
        case .randomPixels:
            permute(out, by: RandomStream(seed: seed, name: "data/random_pixels", index: UInt64(index)).permutation(size))
        case .gaussian:
            let r = RandomStream(seed: seed, name: "data/gaussian", index: UInt64(index))
            for c in 0..<channels {
                let (s, k, m, sd) = (shift[c], scale[c], pixelMean[c], pixelStd[c])
                for j in 0..<plane { out[c * plane + j] = (m + sd * r.normal(UInt64(c * plane + j)) - s) * k }
            }
        }
    }

    /// The byte-level part of `apply` for every corruption but Gaussian pixels: negation (255 − x) and pixel
    /// permutations; the normalisation is left to PreparedSplit.gather.
    func applyToBytes(index: Int, _ raw: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        let size = sampleSize
        let perm: [Int]? = switch corruption {
        case .shuffledPixels: fixedPermutation!
        case .randomPixels: RandomStream(seed: seed, name: "data/random_pixels", index: UInt64(index)).permutation(size)
        default: nil
        }
        for j in 0..<size {
            let x = raw[perm?[j] ?? j]
            out[j] = negative ? 255 - x : x
        }
    }

    /// out[j] = out[perm[j]] (pixel j takes the value of pixel perm[j], across channels as one vector).
    private func permute(_ x: UnsafeMutablePointer<Float>, by perm: [Int]) {
        let copy = Array(UnsafeBufferPointer(start: x, count: perm.count))
        for j in 0..<perm.count { x[j] = copy[perm[j]] }
    }
}

/// The label of sample `index` after label corruption: with probability p a uniformly random class.
public func corruptedLabel(_ label: Int32, index: Int, classes: Int, probability p: Float, seed: UInt64) -> Int32 {
    guard p > 0 else { return label }
    let r = RandomStream(seed: seed, name: "data/labels")
    guard p >= 1 || r.uniform(UInt64(2 * index)) < p else { return label }
    return Int32(r.below(classes, UInt64(2 * index + 1)))
}

/// A split ready for training: (possibly corrupted) labels, and the samples either in memory — as bytes with a
/// per-channel affine map to floats applied as samples are gathered (every transform but Gaussian pixels: a
/// quarter of the memory and of the bytes a step reads), or as floats (Gaussian pixels) — or left in a Descent
/// sample file and read as they are gathered, so that a rank reads from disk only the samples it trains on.
public final class PreparedSplit {
    public let labels: [Int32]
    /// Index of each sample in the source file (keys corruptions and per-sample randomness).
    public let sourceIndices: [Int]
    public let classes: Int
    public let source: String
    /// How the samples were made from the file's bytes.
    public let transform: SampleTransform
    public let shape: [Int]
    public var count: Int { labels.count }
    /// Whether each sample has one label per pixel (segmentation masks) rather than one label.
    public var labelsPerPixel: Bool { if case .file(let r, _, _) = storage { r.hasMasks } else { false } }
    /// The width of the line-scan images a sample file's tiles were cut from, when the file records it; nil for
    /// every other data set.
    public var imageWidth: Int? { if case .file(let r, _, _) = storage { r.imageWidth } else { nil } }
    /// Flip and rotate the samples of training steps (`DataOptions.flipRotate`).
    public var flipRotate = false

    private enum Storage {
        /// N × size bytes (negated and permuted as the transform says); pixel j of channel c is
        /// byte · gain[c] + offset[c].
        case bytes(UnsafeMutablePointer<UInt8>, gain: [Float], offset: [Float])
        case floats(Tensor)
        /// Read from the file at each gather, then transformed like the in-memory bytes.
        case file(SampleFileReader, gain: [Float], offset: [Float])
    }
    private let storage: Storage
    private let sampleSize: Int
    /// Scratch for file reads (grown to the largest gather, then reused).
    private var fileIndices: [Int] = [], rawBytes: [UInt8] = [], transformedBytes: [UInt8] = [], rawLabels: [Int32] = []
    private var rawMasks: [UInt8] = [], unturned: [UInt32] = []
    /// Samples read from the file so far (file-backed splits only).
    public private(set) var samplesRead = 0

    init(bytes: UnsafeMutablePointer<UInt8>?, floats: Tensor?, file: SampleFileReader? = nil, shape: [Int], labels: [Int32],
         sourceIndices: [Int], classes: Int, source: String, transform: SampleTransform) {
        self.labels = labels; self.sourceIndices = sourceIndices; self.shape = shape
        self.classes = classes; self.source = source; self.transform = transform
        sampleSize = shape.reduce(1, *)
        // (x/255 − shift)·scale = x·(scale/255) − shift·scale
        let gain = transform.scale.map { $0 / 255 }, offset = zip(transform.shift, transform.scale).map { -$0 * $1 }
        if let bytes {
            storage = .bytes(bytes, gain: gain, offset: offset)
        } else if let file {
            storage = .file(file, gain: gain, offset: offset)
        } else {
            storage = .floats(floats!)
        }
    }

    deinit { if case .bytes(let p, _, _) = storage { p.deallocate() } }

    /// Copies the samples `indices` (positions in this split) into `images` and their labels into `labels` (one
    /// per sample, or H·W per sample for masks). `step`, the global training step, keys the flips and rotations
    /// of a split that has them; without it samples are gathered as they are. Throws only for a file-backed split
    /// whose file cannot be read.
    @inline(__always)
    public func gather<C: Collection>(_ indices: C, into images: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>,
                                      step: UInt64? = nil) throws where C.Element == Int {
        let size = sampleSize
        var k = 0
        switch storage {
        case .file(let reader, let gain, let offset):
            try gatherFromFile(reader, indices, gain, offset, into: images, labels: out, turnKey: flipRotate ? step : nil)
        case .floats(let t):
            for i in indices {
                (images + k * size).update(from: t.data + i * size, count: size)
                out[k] = labels[i]
                k += 1
            }
        case .bytes(let bytes, let gain, let offset):
            let plane = size / gain.count
            for i in indices {
                for c in 0..<gain.count {
                    let src = bytes + i * size + c * plane, dst = images + k * size + c * plane
                    let (g, o) = (gain[c], offset[c])
                    for j in 0..<plane { dst[j] = Float(src[j]) * g + o }
                }
                out[k] = labels[i]
                k += 1
            }
        }
    }

    /// Reads the samples from the file (in file order, as few runs as possible), then transforms each one.
    private func gatherFromFile<C: Collection>(_ reader: SampleFileReader, _ indices: C, _ gain: [Float], _ offset: [Float],
                                               into images: UnsafeMutablePointer<Float>, labels out: UnsafeMutablePointer<Int32>,
                                               turnKey: UInt64?) throws where C.Element == Int {
        let size = sampleSize, n = indices.count, plane = reader.maskSize
        fileIndices.removeAll(keepingCapacity: true)
        for i in indices { fileIndices.append(sourceIndices[i]) }
        if rawBytes.count < n * size {
            rawBytes = [UInt8](repeating: 0, count: n * size); transformedBytes = rawBytes
            rawLabels = [Int32](repeating: 0, count: n)
            if reader.hasMasks { rawMasks = [UInt8](repeating: 0, count: n * plane) }
        }
        try rawBytes.withUnsafeMutableBufferPointer { raw in
            try rawLabels.withUnsafeMutableBufferPointer { labels in
                try rawMasks.withUnsafeMutableBufferPointer { masks in
                    try reader.read(indices: fileIndices, into: raw.baseAddress!, labels: labels.baseAddress!,
                                    masks: reader.hasMasks ? masks.baseAddress! : nil)
                }
            }
            transformedBytes.withUnsafeMutableBufferPointer { bytes in
                let plane = size / gain.count
                for (k, i) in indices.enumerated() {
                    out[k] = labels[i]
                    let file = sourceIndices[i], src = raw.baseAddress! + k * size
                    if transform.corruption == .gaussian {
                        transform.apply(index: file, src, into: images + k * size)
                        continue
                    }
                    let b = bytes.baseAddress! + k * size
                    transform.applyToBytes(index: file, src, into: b)
                    for c in 0..<gain.count {
                        let (g, o) = (gain[c], offset[c])
                        for j in 0..<plane { images[k * size + c * plane + j] = Float(b[c * plane + j]) * g + o }
                    }
                }
            }
            // Masks become the labels; then image and mask turn together (an image without a mask turns alone).
            let turns = turnKey.map { RandomStream(seed: transform.seed, name: "data/flip_rotate", index: $0) }
            let pixels = shape[1] * shape[2]
            for k in 0..<n {
                let labelsOut = out + k * plane
                if reader.hasMasks {
                    rawMasks.withUnsafeBufferPointer { m in for j in 0..<plane { labelsOut[j] = Int32(m[k * plane + j]) } }
                }
                guard let turns else { continue }
                let turn = turns.below(shape[1] == shape[2] ? 8 : 4, UInt64(fileIndices[k]))
                guard turn != 0 else { continue }
                for c in 0..<shape[0] {
                    (images + k * size + c * pixels).withMemoryRebound(to: UInt32.self, capacity: pixels) { turnPlane($0, turn) }
                }
                if reader.hasMasks { labelsOut.withMemoryRebound(to: UInt32.self, capacity: plane) { turnPlane($0, turn) } }
            }
        }
        samplesRead += n
    }

    /// Applies `turn`, one of the 8 symmetries of the square, to one H×W plane of 4-byte values (floats or labels)
    /// in place: bit 2 transposes, bit 1 flips rows, bit 0 flips columns (only the flips, 0-3, for a non-square
    /// sample).
    private func turnPlane(_ x: UnsafeMutablePointer<UInt32>, _ turn: Int) {
        let h = shape[1], w = shape[2]
        if unturned.count < h * w { unturned = [UInt32](repeating: 0, count: h * w) }
        unturned.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: x, count: h * w) }
        unturned.withUnsafeBufferPointer { copy in turnLoop(x, copy.baseAddress!, h, w, turn) }
    }

    private func turnLoop(_ x: UnsafeMutablePointer<UInt32>, _ copy: UnsafePointer<UInt32>, _ h: Int, _ w: Int, _ turn: Int) {
        for y in 0..<h {
            for xx in 0..<w {
                var (sy, sx) = turn & 4 != 0 ? (xx, y) : (y, xx)
                if turn & 2 != 0 { sy = h - 1 - sy }
                if turn & 1 != 0 { sx = w - 1 - sx }
                x[y * w + xx] = copy[sy * w + sx]
            }
        }
    }

    /// Every sample as floats, N × shape (allocates: for tests and tools, not for training).
    public func materialize() throws -> Tensor {
        let t = Tensor(shape: [count] + shape)
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        defer { scratch.deallocate() }
        try gather(0..<count, into: t.data, labels: scratch)
        return t
    }
}

public enum Preprocessing {
    /// Per-channel mean and standard deviation of the pixels (in [0, 1] units) of `data` at `indices`.
    public static func channelStatistics(_ data: Dataset, indices: [Int]) -> (mean: [Float], std: [Float]) {
        let plane = data.height * data.width
        var mean = [Float](), std = [Float]()
        for c in 0..<data.channels {
            var s = 0.0, ss = 0.0
            data.images.withUnsafeBufferPointer { px in
                for i in indices {
                    let base = (i * data.channels + c) * plane
                    var a = 0, b = 0
                    for j in 0..<plane { let v = Int(px[base + j]); a += v; b += v * v }
                    s += Double(a); ss += Double(b)
                }
            }
            let n = Double(max(indices.count * plane, 1))
            let m = s / n / 255
            mean.append(Float(m))
            std.append(Float(max(ss / n / 65025 - m * m, 0).squareRoot()))
        }
        return (mean, std)
    }

    /// Builds the transforms of the training and test splits.
    /// True when the options need the training pixels' statistics (computed standardisation, Gaussian pixels).
    static func needsStatistics(_ o: DataOptions) -> Bool {
        (o.normalization == .standardize && (o.mean == nil || o.std == nil)) || o.corruption == .gaussian
    }

    public static func transforms(_ o: DataOptions, train: Dataset, trainIndices: [Int]) throws -> (train: SampleTransform, test: SampleTransform) {
        let stats = needsStatistics(o) ? channelStatistics(train, indices: trainIndices)
            : (mean: [Float](repeating: 0, count: train.channels), std: [Float](repeating: 1, count: train.channels))
        let channels = train.channels
        var shift = [Float](repeating: 0, count: channels), scale = [Float](repeating: 1, count: channels)
        switch o.normalization {
        case .none: scale = [Float](repeating: 255, count: channels)
        case .unit: break
        case .standardize:
            let mean = o.mean ?? stats.mean, std = o.std ?? stats.std
            guard mean.count == channels, std.count == channels else {
                throw DataError(message: "data.mean and data.std need \(channels) value\(channels == 1 ? "" : "s") (one per channel), got \(mean.count) and \(std.count)")
            }
            guard std.allSatisfy({ $0 > 0 }) else { throw DataError(message: "data.std must be > 0 for every channel, got \(std)") }
            shift = mean
            scale = std.map { 1 / $0 }
        }
        let permutation = o.corruption == .shuffledPixels
            ? RandomStream(seed: o.seed, name: "data/shuffled_pixels").permutation(train.sampleSize) : nil
        func make(negative: Bool, corrupt: Bool) -> SampleTransform {
            SampleTransform(shape: train.shape, shift: shift, scale: scale, negative: negative,
                            corruption: corrupt ? o.corruption : .none, fixedPermutation: permutation,
                            pixelMean: stats.mean, pixelStd: stats.std, seed: o.seed)
        }
        return (make(negative: o.negativeTrain, corrupt: true), make(negative: o.negativeTest, corrupt: o.corruptTest))
    }

    /// Transforms the samples `indices` of `data` into memory.
    public static func prepare(_ data: Dataset, indices: [Int], transform: SampleTransform, labelNoise: Float, seed: UInt64) -> PreparedSplit {
        let size = data.sampleSize
        var labels = [Int32]()
        labels.reserveCapacity(indices.count)
        for i in indices {
            labels.append(corruptedLabel(data.labels[i], index: i, classes: data.classes, probability: labelNoise, seed: seed))
        }
        if transform.corruption == .gaussian {
            let samples = Tensor(shape: [indices.count] + data.shape)
            data.images.withUnsafeBufferPointer { px in
                for (k, i) in indices.enumerated() { transform.apply(index: i, px.baseAddress! + i * size, into: samples.data + k * size) }
            }
            return PreparedSplit(bytes: nil, floats: samples, shape: data.shape, labels: labels, sourceIndices: indices,
                                 classes: data.classes, source: data.source, transform: transform)
        }
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(indices.count * size, 1))
        data.images.withUnsafeBufferPointer { px in
            for (k, i) in indices.enumerated() { transform.applyToBytes(index: i, px.baseAddress! + i * size, into: bytes + k * size) }
        }
        return PreparedSplit(bytes: bytes, floats: nil, shape: data.shape, labels: labels, sourceIndices: indices,
                             classes: data.classes, source: data.source, transform: transform)
    }

    /// Training and test splits as the options say.
    public static func prepare(train: Dataset, test: Dataset, _ o: DataOptions) throws -> (train: PreparedSplit, test: PreparedSplit) {
        let planned = try plan(train: train, test: test, o, pixels: { train })
        return (prepare(train, indices: planned.trainIndices, transform: planned.trainTransform, labelNoise: planned.labelNoise, seed: o.seed),
                prepare(test, indices: planned.testIndices, transform: planned.testTransform, labelNoise: 0, seed: o.seed))
    }

    /// What both kinds of split need: the checks, the samples of each split, the transforms, the label noise.
    /// `pixels` gives the training set with its images, asked for only when the transforms need statistics.
    private static func plan(train: Dataset, test: Dataset, _ o: DataOptions, pixels: () throws -> Dataset) throws
        -> (trainIndices: [Int], testIndices: [Int], trainTransform: SampleTransform, testTransform: SampleTransform, labelNoise: Float) {
        guard train.shape == test.shape else {
            throw DataError(message: "\(train.source) holds \(train.shape) samples but \(test.source) holds \(test.shape)")
        }
        // The model has one output per training class: a test label beyond them has no output to score it.
        guard test.classes <= train.classes else {
            throw DataError(message: "\(test.source) has \(test.classes) classes but \(train.source) has only \(train.classes): the test split's classes must be among the training split's")
        }
        guard o.subset <= train.count else {
            throw DataError(message: "data.subset = \(o.subset) but \(train.source) has only \(train.count) samples")
        }
        guard !o.flipRotate || train.images.isEmpty else {
            throw DataError(message: "data.augment = \"flip_rotate\" needs a Descent sample file (data.set = \"hdf5\"), not \(train.source)")
        }
        let trainIndices = o.subset == 0 ? Array(0..<train.count) : Subset.indices(of: train, count: o.subset, mode: o.subsetMode, seed: o.seed)
        let testIndices = Array(0..<(o.testSubset == 0 ? test.count : min(o.testSubset, test.count)))
        let (tt, vt) = try transforms(o, train: needsStatistics(o) ? try pixels() : train, trainIndices: trainIndices)
        return (trainIndices, testIndices, tt, vt, o.corruption == .randomLabels ? 1 : o.labelNoise)
    }

    /// Training and test splits left in Descent sample files and read as batches are gathered: a rank reads only
    /// the samples it trains on and evaluates. Labels are read at once; the pixels are read whole once only when
    /// the options need their statistics (computed standardisation, Gaussian pixels: give data.mean and
    /// data.std to avoid it).
    public static func prepare(trainFile: SampleFileReader, testFile: SampleFileReader, _ o: DataOptions) throws -> (train: PreparedSplit, test: PreparedSplit) {
        func labelsOnly(_ r: SampleFileReader) -> Dataset {
            Dataset(images: [], labels: r.labels, channels: r.shape[0], height: r.shape[1], width: r.shape[2], classes: r.classes, source: r.path)
        }
        let train = labelsOnly(trainFile), test = labelsOnly(testFile)
        guard trainFile.hasMasks == testFile.hasMasks else {
            let (with, without) = trainFile.hasMasks ? (trainFile.path, testFile.path) : (testFile.path, trainFile.path)
            throw DataError(message: "\(with) has /masks (a class per pixel) but \(without) has none: both splits need them, or neither")
        }
        let planned = try plan(train: train, test: test, o, pixels: { try trainFile.readAll() })
        func split(_ r: SampleFileReader, _ d: Dataset, _ indices: [Int], _ t: SampleTransform, _ noise: Float) -> PreparedSplit {
            let labels = indices.map { corruptedLabel(d.labels[$0], index: $0, classes: d.classes, probability: noise, seed: o.seed) }
            return PreparedSplit(bytes: nil, floats: nil, file: r, shape: d.shape, labels: labels, sourceIndices: indices,
                                 classes: d.classes, source: d.source, transform: t)
        }
        if trainFile.hasMasks && (o.labelNoise > 0 || o.corruption != .none) {
            throw DataError(trainFile.path, "has segmentation masks; data.label_noise and data.corruption are for classification")
        }
        let trainSplit = split(trainFile, train, planned.trainIndices, planned.trainTransform, planned.labelNoise)
        trainSplit.flipRotate = o.flipRotate
        return (trainSplit, split(testFile, test, planned.testIndices, planned.testTransform, 0))
    }
}
