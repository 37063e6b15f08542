// PreprocessingTests.swift — normalisation, negative images, subsets and the corruptions of Zhang et al. 2017:
// their statistics, their determinism, and that a sample is transformed the same way whichever rank (or how
// many ranks) hold it. Data sets here are synthetic, built in memory.
import Testing
@testable import Data
import Tensor

/// n samples of c×h×w with pixel values and labels that vary from sample to sample.
private func synthetic(_ n: Int, c: Int = 1, h: Int = 6, w: Int = 6, classes: Int = 10) -> Dataset {
    let r = RandomStream(seed: 77, name: "synthetic")
    let size = c * h * w
    let images = (0..<n * size).map { UInt8(truncatingIfNeeded: Int(r.below(200, UInt64($0))) + ($0 % size) % 50) }
    let labels = (0..<n).map { Int32($0 % classes) }
    return Dataset(images: images, labels: labels, channels: c, height: h, width: w, classes: classes, source: "synthetic")
}

private func options(_ edit: (inout DataOptions) -> Void) -> DataOptions {
    var o = DataOptions()
    o.seed = 3
    edit(&o)
    return o
}

@Suite("Preprocessing and corruptions")
struct PreprocessingTests {
    @Test("unit scaling and negative images") func unitAndNegative() throws {
        let d = synthetic(20)
        let (train, test) = try Preprocessing.prepare(train: d, test: d, options { $0.negativeTest = true })
        let trainSamples = try train.materialize()
        let testSamples = try test.materialize()
        for i in 0..<trainSamples.count {
            #expect(abs(trainSamples[i] - Float(d.images[i]) / 255) < 1e-6)
            #expect(abs(testSamples[i] - (1 - Float(d.images[i]) / 255)) < 1e-6)
        }
    }

    @Test("standardize: computed per-channel statistics give mean 0, std 1 on the training set") func standardize() throws {
        let d = synthetic(200, c: 3)
        let (train, _) = try Preprocessing.prepare(train: d, test: d, options { $0.normalization = .standardize })
        let trainSamples = try train.materialize()
        let plane = 36
        for c in 0..<3 {
            var s = 0.0, ss = 0.0
            for n in 0..<200 { for j in 0..<plane { let v = Double(trainSamples[(n * 3 + c) * plane + j]); s += v; ss += v * v } }
            let m = s / Double(200 * plane)
            #expect(abs(m) < 1e-4 && abs(ss / Double(200 * plane) - m * m - 1) < 1e-3)
        }
        #expect(throws: DataError.self) { try Preprocessing.prepare(train: d, test: d, options { $0.normalization = .standardize; $0.mean = [0.5]; $0.std = [0.2] }) }
    }

    @Test("label noise p: about p·(1 − 1/K) labels change, deterministically") func labelNoise() throws {
        let d = synthetic(20_000)
        let (train, _) = try Preprocessing.prepare(train: d, test: d, options { $0.labelNoise = 0.3 })
        let changed = zip(train.labels, d.labels).filter { $0 != $1 }.count
        // Expected 20,000·0.3·0.9 = 5,400; binomial σ ≈ 64: allow 5σ.
        #expect(abs(changed - 5_400) < 320, "\(changed) labels changed")
        #expect(train.labels.allSatisfy { $0 >= 0 && $0 < 10 })
        let (again, _) = try Preprocessing.prepare(train: d, test: d, options { $0.labelNoise = 0.3 })
        #expect(again.labels == train.labels)
        let (other, _) = try Preprocessing.prepare(train: d, test: d, options { $0.labelNoise = 0.3; $0.seed = 4 })
        #expect(other.labels != train.labels)
    }

    @Test("random labels: uniform, independent of the true class; test labels untouched") func randomLabels() throws {
        let d = synthetic(20_000)
        let (train, test) = try Preprocessing.prepare(train: d, test: d, options { $0.corruption = .randomLabels })
        var counts = [Int](repeating: 0, count: 10)
        for y in train.labels { counts[Int(y)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 2_000) < 220 }, "\(counts)")   // σ ≈ 42
        let agree = zip(train.labels, d.labels).filter { $0 == $1 }.count
        #expect(abs(agree - 2_000) < 220)
        #expect(test.labels == d.labels)
    }

    @Test("shuffled pixels: one permutation for every image, train and test") func shuffledPixels() throws {
        let d = synthetic(50)
        let (train, test) = try Preprocessing.prepare(train: d, test: d, options { $0.corruption = .shuffledPixels })
        let trainSamples = try train.materialize()
        let testSamples = try test.materialize()
        let size = 36
        // Recover the permutation from image 0 by matching distinct values... check instead that the same
        // index map explains every image: out[j] = in[perm[j]] with perm from the stream.
        let perm = RandomStream(seed: 3, name: "data/shuffled_pixels").permutation(size)
        #expect(perm != Array(0..<size))
        for n in 0..<50 { for j in 0..<size {
            #expect(abs(trainSamples[n * size + j] - Float(d.images[n * size + perm[j]]) / 255) < 1e-6)
            #expect(testSamples[n * size + j] == trainSamples[n * size + j])
        } }
    }

    @Test("random pixels: a different permutation per image, pixel values preserved") func randomPixels() throws {
        let d = synthetic(50)
        let (train, _) = try Preprocessing.prepare(train: d, test: d, options { $0.corruption = .randomPixels })
        let trainSamples = try train.materialize()
        let size = 36
        var permutations = Set<[Float]>()
        for n in 0..<50 {
            let out = (0..<size).map { trainSamples[n * size + $0] }
            // Back to bytes: scaling by 1/255 may differ from division in the last bit.
            let outBytes = out.map { Int(($0 * 255).rounded()) }
            let rawBytes = (0..<size).map { Int(d.images[n * size + $0]) }
            #expect(outBytes.sorted() == rawBytes.sorted())
            #expect(outBytes != rawBytes)
            permutations.insert(out)
        }
        #expect(permutations.count == 50)
    }

    @Test("Gaussian pixels: the data set's per-channel mean and variance") func gaussian() throws {
        let d = synthetic(2_000, c: 2)
        let (train, _) = try Preprocessing.prepare(train: d, test: d, options { $0.corruption = .gaussian })
        let trainSamples = try train.materialize()
        let stats = Preprocessing.channelStatistics(d, indices: Array(0..<2_000))
        let plane = 36
        for c in 0..<2 {
            var s = 0.0, ss = 0.0
            for n in 0..<2_000 { for j in 0..<plane { let v = Double(trainSamples[(n * 2 + c) * plane + j]); s += v; ss += v * v } }
            let count = Double(2_000 * plane)
            let m = s / count, v = ss / count - m * m
            #expect(abs(m - Double(stats.mean[c])) < 0.01)
            #expect(abs(v.squareRoot() / Double(stats.std[c]) - 1) < 0.02)
        }
    }

    @Test("a sample is transformed the same whichever rank holds it", arguments: [DataOptions.Corruption.none, .randomPixels, .gaussian, .shuffledPixels])
    func rankIndependence(_ corruption: DataOptions.Corruption) throws {
        let d = synthetic(30)
        let o = options { $0.corruption = corruption; $0.labelNoise = 0.5 }
        let (whole, _) = try Preprocessing.prepare(train: d, test: d, o)
        let wholeSamples = try whole.materialize()
        let (tt, _) = try Preprocessing.transforms(o, train: d, trainIndices: Array(0..<30))
        // Four "ranks", each preparing a scattered part of the set on its own.
        for rank in 0..<4 {
            let mine = Array(stride(from: rank, to: 30, by: 4))
            let part = Preprocessing.prepare(d, indices: mine, transform: tt, labelNoise: 0.5, seed: 3)
            let partSamples = try part.materialize()
            for (k, i) in mine.enumerated() {
                #expect(part.labels[k] == whole.labels[i])
                for j in 0..<36 { #expect(partSamples[k * 36 + j] == wholeSamples[i * 36 + j]) }
            }
        }
    }

    @Test("stratified subset: every class in proportion; first-n: the first samples") func subsets() {
        var d = synthetic(1_000)
        d.labels = (0..<1_000).map { Int32($0 < 500 ? 0 : 1 + $0 % 4) }   // class 0 is half the set
        d.classes = 5
        let idx = Subset.indices(of: d, count: 100, mode: .stratified, seed: 1)
        #expect(idx.count == 100 && Set(idx).count == 100 && idx == idx.sorted())
        var counts = [Int](repeating: 0, count: 5)
        for i in idx { counts[Int(d.labels[i])] += 1 }
        #expect(counts == [50, 13, 13, 12, 12])
        #expect(Subset.indices(of: d, count: 100, mode: .stratified, seed: 1) == idx)
        #expect(Subset.indices(of: d, count: 100, mode: .stratified, seed: 2) != idx)
        #expect(Subset.indices(of: d, count: 7, mode: .first, seed: 1) == Array(0..<7))
    }
}

@Suite("Sampler")
struct SamplerTests {
    @Test("the epoch order is a seeded permutation that changes every epoch") func order() {
        let a = EpochPlan(sampleCount: 1000, batchSize: 128, seed: 1, epoch: 0)
        #expect(a.order.sorted() == Array(0..<1000))
        #expect(a.order == EpochPlan(sampleCount: 1000, batchSize: 128, seed: 1, epoch: 0).order)
        #expect(a.order != EpochPlan(sampleCount: 1000, batchSize: 128, seed: 1, epoch: 1).order)
        #expect(a.steps == 8 && a.globalBatch(7) == 896..<1000)
    }

    @Test("rank shards tile each global batch, for any rank count", arguments: [1, 2, 3, 4, 7])
    func shards(ranks: Int) {
        let plan = EpochPlan(sampleCount: 4000, batchSize: 128, seed: 0, epoch: 3)
        for step in 0..<plan.steps {
            var next = plan.globalBatch(step).lowerBound
            for r in 0..<ranks {
                let (range, offset) = plan.shard(step, rank: r, of: ranks)
                #expect(range.lowerBound == next && offset == next - plan.globalBatch(step).lowerBound)
                #expect(abs(range.count - plan.globalBatch(step).count / ranks) <= 1)
                next = range.upperBound
            }
            #expect(next == plan.globalBatch(step).upperBound)
        }
    }
}

@Suite("Splits read from sample files as they are gathered", .serialized)
struct StreamedSplitTests {
    @Test("the same floats and labels as the in-memory split, for every transform; only the gathered samples are read",
          arguments: ["none", "negative", "shuffled", "random", "gaussian", "standardize", "subset"])
    func sameAsInMemory(variant: String) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let train = synthetic(120, c: 2, h: 5, w: 4), test = synthetic(30, c: 2, h: 5, w: 4)
        try SampleFile.write(train, to: dir.file("train.h5"))
        try SampleFile.write(test, to: dir.file("test.h5"))
        let o = options {
            switch variant {
            case "negative": $0.negativeTrain = true; $0.negativeTest = true
            case "shuffled": $0.corruption = .shuffledPixels
            case "random": $0.corruption = .randomPixels; $0.labelNoise = 0.3
            case "gaussian": $0.corruption = .gaussian
            case "standardize": $0.normalization = .standardize
            case "subset": $0.subset = 50; $0.corruption = .randomLabels
            default: break
            }
        }
        let (memTrain, memTest) = try Preprocessing.prepare(train: SampleFile.read(dir.file("train.h5")),
                                                            test: SampleFile.read(dir.file("test.h5")), o)
        let (fileTrain, fileTest) = try Preprocessing.prepare(trainFile: SampleFileReader(path: dir.file("train.h5")),
                                                              testFile: SampleFileReader(path: dir.file("test.h5")), o)
        #expect(fileTrain.labels == memTrain.labels && fileTest.labels == memTest.labels)
        let size = 40
        for (file, memory) in [(fileTrain, memTrain), (fileTest, memTest)] {
            // An unordered batch with a repeat, as an epoch's shuffled order gives.
            let batch = [7, 3, 19, 3, 0, file.count - 1]
            let a = UnsafeMutablePointer<Float>.allocate(capacity: batch.count * size), b = UnsafeMutablePointer<Float>.allocate(capacity: batch.count * size)
            let la = UnsafeMutablePointer<Int32>.allocate(capacity: batch.count), lb = UnsafeMutablePointer<Int32>.allocate(capacity: batch.count)
            defer { a.deallocate(); b.deallocate(); la.deallocate(); lb.deallocate() }
            try file.gather(batch, into: a, labels: la)
            try memory.gather(batch, into: b, labels: lb)
            #expect((0..<batch.count * size).allSatisfy { a[$0] == b[$0] }, "\(variant): samples differ")
            #expect((0..<batch.count).allSatisfy { la[$0] == lb[$0] })
            #expect(file.samplesRead == batch.count)
        }
    }
}
