// GlassTests.swift — the glass-defect pipeline through the built executable, on small synthetic line-scan images:
// synth → tiles → data-parallel U-Net training → band-parallel segmentation on 1, 2 and 4 ranks (the same mask
// every time, compared with h5diff) → overview PNG, defect list and score; and its bad inputs (among them an image
// of another width than the model's, and a strip that cannot be read part-way through segmentation), each one line
// and nothing half-written left behind.
import Checkpoint
import Foundation
import Segmentation
import Testing

private func mpirun(_ ranks: Int) -> [String] { ["mpirun", "-np", "\(ranks)", "--oversubscribe"] }

/// Runs a tool (h5diff) and returns its exit status and output.
private func tool(_ path: String, _ arguments: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.runHoldingHDF5Lock()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Three 1024 × 512 images with masks (4 defects of each class), tiles of 32 × 32 from images 0-1 for training and
/// from image 1 for the test split, and a 1-epoch U-Net trained on them with 2 ranks: its final.h5.
private func trainedModel(_ scratch: Scratch) async throws -> String {
    let synth = try await descent(["glass", "synth", "--out", "img", "--images", "3", "--width", "1024", "--height", "512",
                                   "--defects-per-class", "4"], in: scratch.path)
    try #require(synth.status == 0, "\(synth)")
    let train = try await descent(["glass", "tiles", "img/glass-0.tif", "img/glass-1.tif", "--out", "tiles/train.h5", "--tile", "32"], in: scratch.path)
    try #require(train.status == 0 && train.stdout.contains("tiles/train.h5:"), "\(train)")
    let test = try await descent(["glass", "tiles", "img/glass-1.tif", "--out", "tiles/test.h5", "--tile", "32", "--seed", "1"], in: scratch.path)
    try #require(test.status == 0, "\(test)")
    try jobText([
        ("run", ["name = \"unet\"", "epochs = 1", "seed = 2", "output = \"runs\""]),
        ("data", ["set = \"hdf5\"", "path = \"tiles\"", "augment = \"flip_rotate\""]),
        ("model", ["architecture = \"unet\"", "depth = 2", "channels = 2", "batchnorm = false"]),
        ("optim", ["batch_size = 16", "lr = 0.05", "momentum = 0.9", "class_weights = [0.1, 1, 1, 1, 1, 1]"]),
        ("eval", ["batch_size = 16"]),
    ]).write(toFile: scratch.file("unet.toml"), atomically: true, encoding: .utf8)
    let run = try await descent(["train", "unet.toml"], in: scratch.path, timeLimit: 240, launcher: mpirun(2))
    try #require(run.status == 0 && run.stdout.contains("data           hdf5 [1, 32, 32]"), "\(run)")
    return "runs/unet/final.h5"
}

private let segmentOptions = ["--tile-rows", "64", "--tile-columns", "128", "--halo", "16"]

/// A copy of `source` whose strip `strip` cannot be read while its TIFF directory is intact: the strip's
/// StripOffsets entry (tag 273) points past the end of the file. TIFFStripWriter writes images under 2 GB as
/// classic little-endian TIFF with LONG offsets, stored out of line when there are several strips.
private func damaging(strip: Int, of source: String, into path: String) throws {
    var bytes = try readBytes(source)
    func u16(_ at: Int) throws -> Int {
        try #require(at >= 0 && at + 1 < bytes.count, "\(source): cut short (offset \(at) of \(bytes.count) bytes)")
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }
    func u32(_ at: Int) throws -> Int { try u16(at) | u16(at + 2) << 16 }
    try #require(Array(bytes.prefix(4)) == [0x49, 0x49, 42, 0], "\(source): not a classic little-endian TIFF")
    let directory = try u32(4)
    let entry = try #require(try (0..<u16(directory)).map { directory + 2 + 12 * $0 }.first { try u16($0) == 273 }, "no StripOffsets")
    let type = try u16(entry + 2), count = try u32(entry + 4)
    try #require(type == 4 && count > 1 && strip < count, "StripOffsets: type \(type), \(count) strips; expected LONGs for strip \(strip)")
    let at = try u32(entry + 8) + 4 * strip, past = UInt32(bytes.count + 4096)
    try #require(at + 3 < bytes.count, "\(source): cut short")
    for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: past >> (8 * k)) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

@Suite("descent glass: tiles, training, band-parallel segmentation, score", .serialized)
struct GlassTests {
    @Test("1, 2 and 4 ranks write the same mask; overview PNG, defect list and score")
    func segmentOnAnyRankCount() async throws {
        let scratch = try Scratch()
        let model = try await trainedModel(scratch)
        #expect(try CheckpointFile.read(scratch.file(model)).imageWidth == 1024, "the tiles' image width is not in \(model)")
        let inspect = try await descent(["inspect", model], in: scratch.path)
        #expect(inspect.stdout.contains("trained on tiles of 1024-column images"), "\(inspect)")
        for ranks in [1, 2, 4] {
            let out = "pred\(ranks)"
            let r = try await descent(["glass", "segment", model, "img/glass-2.tif", "--out", out] + segmentOptions,
                                      in: scratch.path, timeLimit: 240, launcher: ranks == 1 ? [] : mpirun(ranks))
            #expect(r.status == 0 && r.stdout.contains("img/glass-2.tif: 1024 × 512"), "\(r)")
            #expect(exists(scratch.file("\(out)/glass-2-pred.h5")) && !exists(scratch.file("\(out)/glass-2-pred.h5.tmp")))
        }
        for ranks in [2, 4] {
            let (status, text) = try tool("/usr/bin/h5diff", [scratch.file("pred1/glass-2-pred.h5"), scratch.file("pred\(ranks)/glass-2-pred.h5"), "/mask", "/mask"])
            #expect(status == 0, "the \(ranks)-rank mask differs from the 1-rank mask: \(text)")
        }
        let png = try readBytes(scratch.file("pred2/glass-2-overview.png"))
        #expect(Array(png.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10], "not a PNG")
        let csv = try readText(scratch.file("pred2/glass-2-defects.csv"))
        #expect(csv.hasPrefix("class,name,x0,y0,x1,y1,area_px,area_um2\n"))

        let score = try await descent(["glass", "score", "pred2/glass-2-pred.h5", "img/glass-2-mask.tif"], in: scratch.path)
        #expect(score.status == 0 && score.stdout.contains("IoU") && score.stdout.contains("scratch"), "\(score)")
        let perfect = try await descent(["glass", "score", "img/glass-2-mask.tif", "img/glass-2-mask.tif"], in: scratch.path)
        #expect(perfect.status == 0, "\(perfect)")
    }

    @Test("bad inputs: one line naming the file, exit 1, nothing half-written left")
    func badInputs() async throws {
        let scratch = try Scratch()
        let model = try await trainedModel(scratch)
        // A mask with a class Descent does not know; a truncated image (libtiff writes the directory last: it is lost).
        let w = try TIFFStripWriter(path: scratch.file("img/odd.tif"), width: 1024, height: 256)
        let m = try TIFFStripWriter(path: scratch.file("img/odd-mask.tif"), width: 1024, height: 256)
        let rows = [UInt8](repeating: 9, count: 1024 * 64)
        for _ in 0..<4 { try rows.withUnsafeBufferPointer { try w.append($0.baseAddress!); try m.append($0.baseAddress!) } }
        try w.close(); try m.close()
        let image = try readBytes(scratch.file("img/glass-2.tif"))
        try Data(image.prefix(image.count / 2)).write(to: URL(fileURLWithPath: scratch.file("img/cut.tif")))
        // An image (with its mask) twice as wide as the model's training images.
        let wide = try TIFFStripWriter(path: scratch.file("img/wide.tif"), width: 2048, height: 256)
        let wideMask = try TIFFStripWriter(path: scratch.file("img/wide-mask.tif"), width: 2048, height: 256)
        let grey = [UInt8](repeating: 128, count: 2048 * 64), background = [UInt8](repeating: 0, count: 2048 * 64)
        for _ in 0..<4 {
            try grey.withUnsafeBufferPointer { try wide.append($0.baseAddress!) }
            try background.withUnsafeBufferPointer { try wideMask.append($0.baseAddress!) }
        }
        try wide.close(); try wideMask.close()
        // A classifier (MLP on Fashion-MNIST): its model cannot be rebuilt for a tile, which must not read as damage.
        try jobText([
            ("run", ["name = \"mlp\"", "epochs = 1", "output = \"runs\""]), ("data", ["subset = 256", "test_subset = 256"]),
            ("model", ["hidden = [8]"]), ("optim", ["batch_size = 64"]),
        ]).write(toFile: scratch.file("mlp.toml"), atomically: true, encoding: .utf8)
        let classifier = try await descent(["train", "mlp.toml"], in: scratch.path)
        try #require(classifier.status == 0, "\(classifier)")
        // Strip 6 of 8 (rows 384-447) is read only by rank 1 of 2, in its second tile row, after a collective write.
        try damaging(strip: 6, of: scratch.file("img/glass-2.tif"), into: scratch.file("img/damaged.tif"))

        let cases: [(String, [String], [String], String)] = [
            ("missing image", ["glass", "segment", model, "img/none.tif", "--out", "bad"] + segmentOptions, mpirun(2), "img/none.tif: no such file"),
            ("truncated image", ["glass", "segment", model, "img/cut.tif", "--out", "bad"] + segmentOptions, mpirun(2), "img/cut.tif: not a TIFF image"),
            ("not a model", ["glass", "segment", "img/glass-0.tif", "img/glass-2.tif", "--out", "bad"], [], "img/glass-0.tif"),
            ("a classifier model", ["glass", "segment", "runs/mlp/final.h5", "img/glass-2.tif", "--out", "bad"] + segmentOptions, mpirun(2),
             "runs/mlp/final.h5: not a glass segmentation model (input [1, 28, 28], output [10]; expected [6, H, W] from a 1-channel input"),
            ("unknown mask class", ["glass", "tiles", "img/odd.tif", "--out", "bad/t.h5", "--tile", "32"], [], "img/odd-mask.tif: unknown class 9"),
            ("missing mask", ["glass", "tiles", "img/cut.tif", "--out", "bad/t.h5"], [], "img/cut-mask.tif: no such file"),
            ("score sizes differ", ["glass", "score", "img/odd-mask.tif", "img/glass-2-mask.tif"], [], "img/odd-mask.tif"),
            ("other width", ["glass", "segment", model, "img/wide.tif", "--out", "bad"] + segmentOptions, mpirun(2),
             "img/wide.tif: 2048 columns, but \(model) was trained on tiles of 1024-column images (--any-width segments it anyway)"),
            ("tiles of two widths", ["glass", "tiles", "img/glass-0.tif", "img/wide.tif", "--out", "bad/t.h5", "--tile", "32"], [],
             "img/wide.tif: 2048 columns, but img/glass-0.tif has 1024"),
            ("predict with a segmentation model", ["predict", model, "--data", "tiles/test.h5", "--out", "bad/p.csv"], [],
             "a segmentation model (output [6, "),
            ("strip unreadable mid-band", ["glass", "segment", model, "img/damaged.tif", "--out", "bad"] + segmentOptions, mpirun(2),
             "descent: rank 1: img/damaged.tif: strip 6 is truncated or damaged"),
        ]
        for (name, arguments, launcher, message) in cases {
            let r = try await descent(arguments, in: scratch.path, timeLimit: 60, launcher: launcher)
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("descent:") }
            #expect(r.status != 0 && !r.timedOut, "\(name): \(r)")
            #expect(lines.count == 1 && lines[0].contains(message), "\(name): expected one line with '\(message)': \(r)")
            let left = (try? FileManager.default.subpathsOfDirectory(atPath: scratch.file("bad"))) ?? []
            #expect(left.filter { $0.hasSuffix(".h5") || $0.hasSuffix(".tmp") }.isEmpty, "\(name) left \(left)")
        }
        let anyWidth = try await descent(["glass", "segment", model, "img/wide.tif", "--out", "wide", "--any-width"] + segmentOptions,
                                         in: scratch.path, timeLimit: 120)
        #expect(anyWidth.status == 0 && exists(scratch.file("wide/wide-pred.h5")), "\(anyWidth)")

        // Interrupted while writing (Ctrl-C; the SIGTERM that mpirun and Slurm send every rank): the temporary files
        // go too. Under mpirun the ranks are signalled themselves, as srun and mpirun do; this test process starts
        // mpirun with SIGTERM blocked (Foundation's Process passes its signal mask on), so mpirun would not forward it.
        func interrupted(_ arguments: [String], launcher: [String] = [], writing temporary: String, signal: Int32) async throws -> Outcome {
            try await descent(arguments, in: scratch.path, timeLimit: 120, launcher: launcher) { process in
                while process.isRunning && !exists(scratch.file(temporary)) { try await Task.sleep(for: .milliseconds(5)) }
                if launcher.isEmpty {
                    kill(process.processIdentifier, signal)
                } else {
                    let binary = try DescentBinary.require()
                    let pkill = Process()
                    pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
                    pkill.arguments = ["-\(signal)", "-f", "^\(binary) \(arguments.joined(separator: " "))"]
                    try pkill.run(); pkill.waitUntilExit()
                }
            }
        }
        let synth = try await interrupted(["glass", "synth", "--out", "big", "--width", "1024", "--height", "131072"],
                                          writing: "big/glass-0.tif.tmp", signal: SIGINT)
        #expect(synth.signalled && synth.status == SIGINT, "\(synth)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("big")).isEmpty)
        let long = try await descent(["glass", "synth", "--out", "long", "--width", "1024", "--height", "16384"], in: scratch.path, timeLimit: 120)
        try #require(long.succeeded, "\(long)")
        let segment = try await interrupted(["glass", "segment", model, "long/glass-0.tif", "--out", "cut"] + segmentOptions,
                                            launcher: mpirun(2), writing: "cut/glass-0-pred.h5.tmp", signal: SIGTERM)
        #expect(segment.status != 0, "\(segment)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("cut")).isEmpty, "\(segment)")
    }
}
