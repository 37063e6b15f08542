// SegmentationSampleTests.swift — segmentation sample files (images with per-pixel class masks): the streaming
// SampleFileWriter round trip (with the width of the images the tiles were cut from), the reader's /masks and
// image_width validation, and prepared splits that gather per-pixel labels
// and flip/rotate a training sample's image and mask together, deterministically per (seed, step, sample).
import CHDF5
import HDF5
import Foundation
import Testing
@testable import Data

/// Calls `writer.append` with arrays.
private func append(_ writer: SampleFileWriter, _ image: [UInt8], _ label: Int32, _ mask: [UInt8]?) throws {
    try image.withUnsafeBufferPointer { i in
        if let mask {
            try mask.withUnsafeBufferPointer { try writer.append(image: i.baseAddress!, label: label, mask: $0.baseAddress!) }
        } else {
            try writer.append(image: i.baseAddress!, label: label)
        }
    }
}

// MARK: Round-trip fixture: 1×8×8 samples whose bytes and mask encode (sample, pixel).

private let roundTripClasses = 5

/// Image of sample i: pixel (0, 0) holds i / 256, the others i·5 + 8y + x (mod 256): distinct for i < 65536.
private func roundTripImage(_ i: Int) -> [UInt8] {
    (0..<64).map { j in j == 0 ? UInt8(i >> 8) : UInt8(truncatingIfNeeded: i &* 5 &+ j) }
}

/// Mask of sample i: class (i + y + x/3) mod 5 at (y, x).
private func roundTripMask(_ i: Int) -> [UInt8] {
    (0..<64).map { j in UInt8((i + j / 8 + (j % 8) / 3) % roundTripClasses) }
}

private func roundTripLabel(_ i: Int) -> Int32 { Int32((i * 3 + 1) % roundTripClasses) }

// MARK: Tile fixture: 2×h×w samples, one marked defect pixel (class 3) per mask, so that every symmetry of the
// square moves it somewhere else; each image byte is mask·64 + a code of the pixel's own position.

private let tileClasses = 4
/// Marked pixel of sample i (row mod h): off both diagonals of an 8×8 tile, so its 8 images are distinct.
private let defects = [(1, 2), (2, 6), (0, 3), (3, 1), (5, 4), (6, 0), (7, 5), (4, 6)]

private struct Tile {
    let image: [UInt8], mask: [UInt8], label: Int32
}

/// Sample i of h×w: the mask is background except the defect pixel (class 3) and a few pixels of classes 1 and 2
/// placed by i; channel 0 byte = mask·64 + (y·w + x), channel 1 byte = mask·64 + (y·w + x + 9i) mod 64, so the
/// top two bits of every byte are its pixel's class and the rest says where the pixel was.
private func tile(_ i: Int, h: Int = 8, w: Int = 8) -> Tile {
    let d = defects[i % defects.count], marked = (d.0 % h) * w + d.1
    let mask = (0..<h * w).map { j -> UInt8 in
        let (y, x) = (j / w, j % w)
        if j == marked { return 3 }
        if (j + i) % 7 == 0 { return 1 }
        if (y + 2 * x + i) % 9 == 0 { return 2 }
        return 0
    }
    let plane = h * w
    let image = (0..<2 * plane).map { k -> UInt8 in
        let (c, j) = (k / plane, k % plane)
        let code = c == 0 ? j % 64 : (j + 9 * i) % 64
        return UInt8(Int(mask[j]) * 64 + code)
    }
    return Tile(image: image, mask: mask, label: Int32(i % tileClasses))
}

private func writeTiles(_ path: String, count: Int, h: Int = 8, w: Int = 8, imageWidth: Int? = nil) throws {
    let writer = try SampleFileWriter(path: path, shape: [2, h, w], classes: tileClasses, source: "test tiles", masks: true,
                                      imageWidth: imageWidth)
    for i in 0..<count {
        let t = tile(i, h: h, w: w)
        try append(writer, t.image, t.label, t.mask)
    }
    try writer.finish()
}

/// The 8 symmetries of an n×n square (the first 4, the flips, of an h×w rectangle), each as the source pixel of
/// output pixel (y, x): out(y, x) = in(g(y, x)).
private func symmetries(h: Int, w: Int) -> [(Int, Int) -> (Int, Int)] {
    var g: [(Int, Int) -> (Int, Int)] = [
        { y, x in (y, x) }, { y, x in (y, w - 1 - x) }, { y, x in (h - 1 - y, x) }, { y, x in (h - 1 - y, w - 1 - x) },
    ]
    if h == w {
        let n = h
        g += [{ y, x in (x, y) }, { y, x in (x, n - 1 - y) }, { y, x in (n - 1 - x, y) }, { y, x in (n - 1 - x, n - 1 - y) }]
    }
    return g
}

/// Gathers `indices` of `split`: floats (count × C·H·W) and per-pixel labels (count × H·W).
private func gathered(_ split: PreparedSplit, _ indices: [Int], step: UInt64? = nil) throws -> (images: [Float], labels: [Int32]) {
    let size = split.shape.reduce(1, *), plane = split.shape[1] * split.shape[2]
    var images = [Float](repeating: .nan, count: indices.count * size)
    var labels = [Int32](repeating: -1, count: indices.count * plane)
    try images.withUnsafeMutableBufferPointer { i in
        try labels.withUnsafeMutableBufferPointer { try split.gather(indices, into: i.baseAddress!, labels: $0.baseAddress!, step: step) }
    }
    return (images, labels)
}

/// What a gather gave for one sample.
private struct Gathered: Equatable {
    let images: [Float], labels: [Int32]
}

private func sample(_ g: (images: [Float], labels: [Int32]), _ k: Int, shape: [Int]) -> Gathered {
    let size = shape.reduce(1, *), plane = shape[1] * shape[2]
    return Gathered(images: Array(g.images[k * size..<(k + 1) * size]), labels: Array(g.labels[k * plane..<(k + 1) * plane]))
}

/// The symmetry (index into `symmetries`) that turns tile `t` into `out` — images (every channel, as floats
/// byte/255) and labels alike — or nil when none does (or the image and the mask were turned differently).
private func symmetry(of t: Tile, in out: Gathered, h: Int, w: Int) -> Int? {
    let plane = h * w
    let all = symmetries(h: h, w: w)
    func turned(_ g: (Int, Int) -> (Int, Int), _ j: Int) -> Int { let (sy, sx) = g(j / w, j % w); return sy * w + sx }
    let byImage = all.indices.filter { s in
        (0..<2 * plane).allSatisfy { k in
            let (c, j) = (k / plane, k % plane)
            return abs(out.images[k] - Float(t.image[c * plane + turned(all[s], j)]) / 255) < 1e-6
        }
    }
    let byLabels = all.indices.filter { s in (0..<plane).allSatisfy { j in out.labels[j] == Int32(t.mask[turned(all[s], j)]) } }
    guard byImage.count == 1, byLabels == byImage else { return nil }
    return byImage[0]
}

/// Where the defect pixel (the one class-3 label) of a gathered sample is, as (row, column).
private func defectPosition(_ out: Gathered, w: Int) -> [Int] {
    let j = out.labels.firstIndex(of: 3) ?? -1
    return [j / w, j % w]
}

/// Every pixel's class, read back from the top two bits of each channel's byte, equals its label.
private func consistent(_ out: Gathered, plane: Int) -> Bool {
    out.images.indices.allSatisfy { k in
        let v = (out.images[k] * 255).rounded()
        guard v >= 0, v <= 255 else { return false }  // NaN too
        return Int32(Int(v) >> 6) == out.labels[k % plane]
    }
}

/// One expectation for a loop's findings: says how many and the first few, instead of an issue each.
private func expectNone(_ problems: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(problems.isEmpty, "\(problems.count) problems, the first: \(problems.prefix(3).joined(separator: "; "))",
            sourceLocation: sourceLocation)
}

private func options(_ edit: (inout DataOptions) -> Void = { _ in }) -> DataOptions {
    var o = DataOptions()
    o.seed = 11
    edit(&o)
    return o
}

@Suite("Segmentation sample files and flip/rotate")
struct SegmentationSampleTests {
    // MARK: SampleFileWriter

    @Test("SampleFileWriter → SampleFileReader: 300 samples with masks (two buffered writes), read in any order")
    func writerRoundTrip() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("tiles.h5")
        let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "round trip", masks: true,
                                          imageWidth: 16_384)
        for i in 0..<300 { try append(writer, roundTripImage(i), roundTripLabel(i), roundTripMask(i)) }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: path + ".tmp"))
        try writer.finish()
        #expect(writer.count == 300)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))

        let reader = try SampleFileReader(path: path)
        #expect(reader.hasMasks)
        #expect(reader.count == 300 && reader.shape == [1, 8, 8] && reader.classes == roundTripClasses)
        #expect(reader.sampleSize == 64 && reader.maskSize == 64)
        #expect(reader.origin == "round trip" && reader.imageWidth == 16_384)
        #expect(reader.labels == (0..<300).map(roundTripLabel))

        let shuffled = (0..<300).map { ($0 * 7919 + 13) % 300 }  // a permutation: 7919 is prime to 300
        #expect(Set(shuffled).count == 300)
        for indices in [[299, 3, 256, 255, 3, 0, 128, 257, 3], [0, 1, 2, 255, 256, 299], shuffled + [42, 255, 256]] {
            var images = [UInt8](repeating: 0xAA, count: indices.count * 64)
            var labels = [Int32](repeating: -1, count: indices.count)
            var masks = [UInt8](repeating: 0xAA, count: indices.count * 64)
            try reader.read(indices: indices, into: &images, labels: &labels, masks: &masks)
            #expect(images == indices.flatMap(roundTripImage), "images of \(indices.prefix(9))…")
            #expect(labels == indices.map(roundTripLabel), "labels of \(indices.prefix(9))…")
            #expect(masks == indices.flatMap(roundTripMask), "masks of \(indices.prefix(9))…")
        }
        // Without a mask buffer the masks are not read; the images still are.
        var images = [UInt8](repeating: 0, count: 2 * 64), labels: [Int32] = [-1, -1]
        try reader.read(indices: [270, 7], into: &images, labels: &labels)
        #expect(images == roundTripImage(270) + roundTripImage(7) && labels == [roundTripLabel(270), roundTripLabel(7)])
    }

    @Test("a writer without masks writes a file without /masks; masks are refused by it and asked of its reader")
    func writerWithoutMasks() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("plain.h5")
        let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "plain", masks: false)
        let refused = #expect(throws: DataError.self) { try append(writer, roundTripImage(0), 0, roundTripMask(0)) }
        #expect(refused?.description == "\(path): this file has no masks")
        for i in 0..<3 { try append(writer, roundTripImage(i), roundTripLabel(i), nil) }
        try writer.finish()
        let reader = try SampleFileReader(path: path)
        #expect(!reader.hasMasks && reader.count == 3 && reader.imageWidth == nil)
        var images = [UInt8](repeating: 0, count: 64), labels: [Int32] = [0], masks = [UInt8](repeating: 0, count: 64)
        #expect(throws: DataError(path, "has no /masks: not a segmentation sample file")) {
            try reader.read(indices: [1], into: &images, labels: &labels, masks: &masks)
        }
        #expect(images == roundTripImage(1))
    }

    @Test("a writer dropped without finish() leaves neither the file nor its .tmp")
    func writerAbandoned() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("abandoned.h5")
        func startAndDrop() throws {
            let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "x", masks: true)
            for i in 0..<260 { try append(writer, roundTripImage(i), roundTripLabel(i), roundTripMask(i)) }  // one write done
            #expect(FileManager.default.fileExists(atPath: path + ".tmp"))
        }
        try startAndDrop()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("append with a mask class ≥ classes, and finish() with no samples, throw errors naming the file")
    func writerRefusals() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("bad.h5")
        func badMask() throws {
            let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "x", masks: true)
            var mask = roundTripMask(0)
            mask[37] = UInt8(roundTripClasses)
            let error = #expect(throws: DataError.self) { try append(writer, roundTripImage(0), 0, mask) }
            let said = error?.description ?? ""
            #expect(said.hasPrefix(path + ": ") && said.contains("class \(roundTripClasses)"), "\(said)")
            #expect(throws: DataError.self) { try append(writer, roundTripImage(1), Int32(roundTripClasses), roundTripMask(1)) }
            #expect(throws: DataError(path, "every sample needs a mask")) { try append(writer, roundTripImage(1), 0, nil) }
        }
        try badMask()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        func empty() throws {
            let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "x", masks: true)
            #expect(throws: DataError(path, "no samples to write")) { try writer.finish() }
        }
        try empty()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        #expect(throws: DataError.self) {
            try SampleFileWriter(path: path, shape: [8, 8], classes: roundTripClasses, source: "x", masks: true)
        }
    }

    // MARK: SampleFileReader validation of /masks

    @Test("a refused sample leaves the file as it was: the samples around it keep their own masks")
    func refusedSampleNotWritten() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("gap.h5")
        let writer = try SampleFileWriter(path: path, shape: [1, 8, 8], classes: roundTripClasses, source: "x", masks: true)
        try append(writer, roundTripImage(0), roundTripLabel(0), roundTripMask(0))
        var bad = roundTripMask(1)
        bad[0] = UInt8(roundTripClasses + 4)
        #expect(throws: DataError.self) { try append(writer, roundTripImage(1), roundTripLabel(1), bad) }
        try append(writer, roundTripImage(2), roundTripLabel(2), roundTripMask(2))
        try writer.finish()
        let reader = try SampleFileReader(path: path)
        #expect(reader.count == 2 && reader.labels == [roundTripLabel(0), roundTripLabel(2)])
        var images = [UInt8](repeating: 0, count: 2 * 64), masks = images, labels = [Int32](repeating: 0, count: 2)
        try reader.read(indices: [0, 1], into: &images, labels: &labels, masks: &masks)
        #expect(Array(masks[0..<64]) == roundTripMask(0) && Array(masks[64...]) == roundTripMask(2))
        #expect(Array(images[64...]) == roundTripImage(2))
    }

    @Test("/masks of the wrong shape or type: a DataError naming the file and /masks",
          arguments: [([5, 4, 3], false), ([4, 3, 4], false), ([6, 3, 4], false), ([5, 12], false), ([5, 3, 4, 1], false),
                      ([5, 3, 4], true)])
    func wrongMasks(dims: [Int], int32: Bool) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("s.h5")
        try SampleFile.write(sampleData(count: 5, classes: 10), to: path)  // 5 samples of 1×3×4
        let n = dims.reduce(1, *)
        mutateSampleFile(path) { file in
            if int32 {
                createDataset(file, "masks", dims, shim_H5T_NATIVE_INT32(), [Int32](repeating: 1, count: n))
            } else {
                createDataset(file, "masks", dims, shim_H5T_NATIVE_UINT8(), [UInt8](repeating: 1, count: n))
            }
        }
        let error = #expect(throws: DataError.self) { try SampleFileReader(path: path) }
        let said = error?.description ?? ""
        #expect(said.hasPrefix("\(path): /masks is "), "\(said)")
        #expect(said.contains("expected uint8 5×3×4"), "\(said)")
        #expect(!said.contains("\n"))
    }

    @Test("an image_width attribute that is not a positive integer: a DataError naming the file and the attribute",
          arguments: ["string", "zero"])
    func wrongImageWidth(kind: String) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("s.h5")
        try SampleFile.write(sampleData(count: 5, classes: 10), to: path)
        mutateSampleFile(path) { file in
            _ = kind == "string" ? HDF5Library.setAttribute(file, "image_width", "wide") : HDF5Library.setAttribute(file, "image_width", Int32(0))
        }
        let found = kind == "string" ? "the string 'wide'" : "the integer 0"
        #expect(throws: DataError(path, "the 'image_width' attribute is \(found), expected a positive integer")) {
            try SampleFileReader(path: path)
        }
    }

    @Test("/masks written with the HDF5 API: the right shape opens; a class ≥ classes fails the read naming the file")
    func masksWrittenByHand() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("s.h5")
        let d = sampleData(count: 5, classes: 10)
        try SampleFile.write(d, to: path)
        var masks = (0..<60).map { UInt8($0 % 10) }
        masks[2 * 12 + 7] = 10
        mutateSampleFile(path) { createDataset($0, "masks", [5, 3, 4], shim_H5T_NATIVE_UINT8(), masks) }
        let reader = try SampleFileReader(path: path)
        #expect(reader.hasMasks && reader.maskSize == 12)
        var images = [UInt8](repeating: 0, count: 2 * 12), labels: [Int32] = [0, 0], out = [UInt8](repeating: 0, count: 2 * 12)
        try reader.read(indices: [4, 0], into: &images, labels: &labels, masks: &out)
        #expect(out == Array(masks[48..<60] + masks[0..<12]))
        #expect(throws: DataError(path, "mask of sample 2 has class 10 outside 0..<10")) {
            try reader.read(indices: [1, 2], into: &images, labels: &labels, masks: &out)
        }
    }

    // MARK: PreparedSplit with masks

    @Test("evaluation (no step): every sample as stored — labels are the mask, floats are byte/255")
    func gatherUnturned() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeTiles(dir.file("train.h5"), count: 8, imageWidth: 2048)
        try writeTiles(dir.file("test.h5"), count: 3)
        let (train, test) = try Preprocessing.prepare(trainFile: SampleFileReader(path: dir.file("train.h5")),
                                                      testFile: SampleFileReader(path: dir.file("test.h5")),
                                                      options { $0.flipRotate = true })
        #expect(train.labelsPerPixel && test.labelsPerPixel)
        #expect(train.imageWidth == 2048 && test.imageWidth == nil)
        #expect(train.shape == [2, 8, 8] && train.count == 8 && test.count == 3)
        #expect(train.labels == (0..<8).map { tile($0).label })
        for (split, indices) in [(train, [3, 0, 7, 3, 5]), (test, [2, 0, 1])] {
            let g = try gathered(split, indices)
            var problems: [String] = []
            for (k, i) in indices.enumerated() {
                let t = tile(i), out = sample(g, k, shape: [2, 8, 8])
                if out.labels != t.mask.map({ Int32($0) }) { problems.append("labels of sample \(i) are not its mask") }
                if !zip(out.images, t.image).allSatisfy({ abs($0 - Float($1) / 255) < 1e-6 }) { problems.append("pixels of sample \(i) are not byte/255") }
            }
            expectNone(problems)
        }

        // A file without masks: one label per sample.
        try SampleFile.write(sampleData(count: 4), to: dir.file("plain.h5"))
        let plain = try Preprocessing.prepare(trainFile: SampleFileReader(path: dir.file("plain.h5")),
                                              testFile: SampleFileReader(path: dir.file("plain.h5")), options())
        #expect(!plain.train.labelsPerPixel && plain.train.imageWidth == nil)
    }

    @Test("flip_rotate: image and mask turn together, by all 8 symmetries of the square, about equally often")
    func flipRotateSquare() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeTiles(dir.file("train.h5"), count: 8)
        let reader = try SampleFileReader(path: dir.file("train.h5"))
        let (train, _) = try Preprocessing.prepare(trainFile: reader, testFile: reader, options { $0.flipRotate = true })
        #expect(train.flipRotate)
        let steps = 128
        var used = [Int](repeating: 0, count: 8)
        var landed: [Set<[Int]>] = Array(repeating: [], count: 8)
        var stepsWithDifferentTurns = 0, problems: [String] = []
        for step in 0..<steps {
            let indices = [5, 0, 1, 2, 3, 4, 6, 7]
            let g = try gathered(train, indices, step: UInt64(step))
            var turns = Set<Int>()
            for (k, i) in indices.enumerated() {
                let out = sample(g, k, shape: [2, 8, 8])
                if !consistent(out, plane: 64) { problems.append("step \(step), sample \(i): a label differs from its pixel's class") }
                guard let s = symmetry(of: tile(i), in: out, h: 8, w: 8) else {
                    problems.append("step \(step), sample \(i): image and mask are not one symmetry of the stored sample")
                    continue
                }
                used[s] += 1
                turns.insert(s)
                landed[i].insert(defectPosition(out, w: 8))
            }
            if turns.count > 1 { stepsWithDifferentTurns += 1 }
        }
        expectNone(problems)
        // 8·128 = 1024 draws, 128 expected per symmetry (σ ≈ 11).
        #expect(used.allSatisfy { $0 > 80 }, "draws per symmetry: \(used)")
        for i in 0..<8 {
            let (y, x) = defects[i]
            // The marked pixel lands on the 8 distinct images of its position.
            let images: Set<[Int]> = [[y, x], [y, 7 - x], [7 - y, x], [7 - y, 7 - x], [x, y], [x, 7 - y], [7 - x, y], [7 - x, 7 - y]]
            #expect(images.count == 8)
            #expect(landed[i] == images, "sample \(i): the marked pixel landed on \(landed[i].sorted { $0.lexicographicallyPrecedes($1) })")
        }
        // Drawn per sample: the samples of one step are not all turned alike.
        #expect(stepsWithDifferentTurns > steps / 2)
    }

    @Test("flip_rotate on a file without masks: the image turns by the 8 symmetries, its label stays")
    func flipRotateWithoutMasks() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let data = sampleData(count: 4, height: 3, width: 3)
        try SampleFile.write(data, to: dir.file("plain.h5"))
        let reader = try SampleFileReader(path: dir.file("plain.h5"))
        let (train, _) = try Preprocessing.prepare(trainFile: reader, testFile: reader, options { $0.flipRotate = true })
        /// Which of the 8 symmetries of the square turns sample i's stored 3×3 bytes into `image` (floats
        /// byte/255), or nil.
        func symmetry(_ i: Int, _ image: [Float]) -> Int? {
            let maps: [(Int, Int) -> (Int, Int)] = [{ ($0, $1) }, { ($0, 2 - $1) }, { (2 - $0, $1) }, { (2 - $0, 2 - $1) },
                                                    { ($1, $0) }, { ($1, 2 - $0) }, { (2 - $1, $0) }, { (2 - $1, 2 - $0) }]
            return maps.firstIndex { m in
                (0..<9).allSatisfy { j in
                    let (y, x) = m(j / 3, j % 3)
                    return abs(image[j] - Float(data.images[i * 9 + y * 3 + x]) / 255) < 1e-6
                }
            }
        }
        var seen = [Set<Int>](repeating: [], count: 4), problems: [String] = []
        for step in 0..<64 {
            var images = [Float](repeating: .nan, count: 4 * 9), labels = [Int32](repeating: -1, count: 4)
            try images.withUnsafeMutableBufferPointer { i in
                try labels.withUnsafeMutableBufferPointer { try train.gather([0, 1, 2, 3], into: i.baseAddress!, labels: $0.baseAddress!, step: UInt64(step)) }
            }
            for k in 0..<4 {
                guard let s = symmetry(k, Array(images[k * 9..<(k + 1) * 9])) else {
                    problems.append("step \(step), sample \(k): not a symmetry of the stored image")
                    continue
                }
                if labels[k] != data.labels[k] { problems.append("step \(step), sample \(k): label \(labels[k])") }
                seen[k].insert(s)
            }
        }
        expectNone(problems)
        #expect(seen.allSatisfy { $0.count == 8 }, "symmetries drawn per sample over 64 steps: \(seen.map(\.count))")
    }

    @Test("flip_rotate on a non-square tile: only the 4 flips, image and mask together")
    func flipRotateRectangle() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeTiles(dir.file("train.h5"), count: 4, h: 4, w: 8)
        let reader = try SampleFileReader(path: dir.file("train.h5"))
        let (train, _) = try Preprocessing.prepare(trainFile: reader, testFile: reader, options { $0.flipRotate = true })
        var used = [Int](repeating: 0, count: 4), problems: [String] = []
        for step in 0..<64 {
            let g = try gathered(train, [0, 1, 2, 3], step: UInt64(step))
            for i in 0..<4 {
                let out = sample(g, i, shape: [2, 4, 8])
                if !consistent(out, plane: 32) { problems.append("step \(step), sample \(i): a label differs from its pixel's class") }
                guard let s = symmetry(of: tile(i, h: 4, w: 8), in: out, h: 4, w: 8) else {
                    problems.append("step \(step), sample \(i): image and mask are not one flip of the stored sample")
                    continue
                }
                used[s] += 1
            }
        }
        expectNone(problems)
        #expect(used.allSatisfy { $0 > 30 }, "draws per flip: \(used)")  // 64 expected each
    }

    @Test("flip_rotate is deterministic per (seed, step, sample), whatever else is gathered with it")
    func flipRotateDeterministic() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeTiles(dir.file("train.h5"), count: 8)
        func split(seed: UInt64) throws -> PreparedSplit {
            let reader = try SampleFileReader(path: dir.file("train.h5"))
            return try Preprocessing.prepare(trainFile: reader, testFile: reader, options { $0.flipRotate = true; $0.seed = seed }).train
        }
        let one = try split(seed: 11), two = try split(seed: 11), other = try split(seed: 12)
        let (a, b) = (2, 6)
        var differentFromOtherSeed = 0, turnedAtAll = 0, problems: [String] = []
        for step in 0..<48 {
            let s = UInt64(step)
            let pair = try gathered(one, [a, b], step: s)
            let bAlone = sample(try gathered(two, [b], step: s), 0, shape: [2, 8, 8])
            let bInPair = sample(pair, 1, shape: [2, 8, 8])
            if bInPair != bAlone { problems.append("step \(step): sample \(b) turned differently alone and after \(a)") }
            let mixed = try gathered(two, [b, 5, a, b], step: s)
            if sample(mixed, 0, shape: [2, 8, 8]) != bAlone || sample(mixed, 3, shape: [2, 8, 8]) != bAlone {
                problems.append("step \(step): sample \(b) turned differently in [\(b), 5, \(a), \(b)]")
            }
            if sample(mixed, 2, shape: [2, 8, 8]) != sample(pair, 0, shape: [2, 8, 8]) {
                problems.append("step \(step): sample \(a) turned differently in [\(a), \(b)] and [\(b), 5, \(a), \(b)]")
            }
            let again = try gathered(one, [a, b], step: s)
            if again.images != pair.images || again.labels != pair.labels { problems.append("step \(step): a second gather differs") }
            if sample(try gathered(other, [b], step: s), 0, shape: [2, 8, 8]) != bAlone { differentFromOtherSeed += 1 }
            if bAlone.labels != tile(b).mask.map({ Int32($0) }) { turnedAtAll += 1 }
        }
        expectNone(problems)
        #expect(differentFromOtherSeed > 24, "another seed turned sample \(b) differently at only \(differentFromOtherSeed) of 48 steps")
        #expect(turnedAtAll > 24)
    }

    @Test("the test split never turns, nor a training split gathered without a step or without flip_rotate")
    func testSplitNeverTurns() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeTiles(dir.file("train.h5"), count: 8)
        try writeTiles(dir.file("test.h5"), count: 8)
        let (train, test) = try Preprocessing.prepare(trainFile: SampleFileReader(path: dir.file("train.h5")),
                                                      testFile: SampleFileReader(path: dir.file("test.h5")),
                                                      options { $0.flipRotate = true })
        #expect(train.flipRotate && !test.flipRotate)
        let (plain, _) = try Preprocessing.prepare(trainFile: SampleFileReader(path: dir.file("train.h5")),
                                                   testFile: SampleFileReader(path: dir.file("test.h5")), options())
        #expect(!plain.flipRotate)
        let indices = Array(0..<8)
        let stored = indices.map { i in Gathered(images: tile(i).image.map { Float($0) / 255 }, labels: tile(i).mask.map { Int32($0) }) }
        var trainTurned = 0, problems: [String] = []
        for step in 0..<32 {
            for split in [test, plain] {
                let g = try gathered(split, indices, step: UInt64(step))
                for k in indices {
                    let out = sample(g, k, shape: [2, 8, 8])
                    if out.labels != stored[k].labels || !zip(out.images, stored[k].images).allSatisfy({ abs($0 - $1) < 1e-6 }) {
                        problems.append("\(split === test ? "test" : "training (no flip_rotate)") split, step \(step): sample \(k) turned")
                    }
                }
            }
            let g = try gathered(train, indices, step: UInt64(step))
            trainTurned += indices.filter { sample(g, $0, shape: [2, 8, 8]).labels != stored[$0].labels }.count
        }
        expectNone(problems)
        #expect(trainTurned > 32 * 8 / 2)  // the same files do turn in the training split (7 in 8 expected)
    }

    @Test("refused: label noise or corruptions with masks; flip_rotate on an in-memory data set")
    func refusals() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = dir.file("train.h5")
        try writeTiles(path, count: 4)
        for edit: (inout DataOptions) -> Void in [{ $0.labelNoise = 0.1 }, { $0.corruption = .randomLabels }, { $0.corruption = .gaussian }] {
            let reader = try SampleFileReader(path: path)
            let error = #expect(throws: DataError.self) { try Preprocessing.prepare(trainFile: reader, testFile: reader, options(edit)) }
            let said = error?.description ?? ""
            #expect(said.hasPrefix(path + ": ") && said.contains("masks"), "\(said)")
        }

        let d = sampleData(count: 6, height: 8, width: 8)
        let error = #expect(throws: DataError.self) { try Preprocessing.prepare(train: d, test: d, options { $0.flipRotate = true }) }
        #expect(error?.description.contains("flip_rotate") == true)
        _ = try Preprocessing.prepare(train: d, test: d, options())  // the same data set without flip_rotate is fine
    }
}
