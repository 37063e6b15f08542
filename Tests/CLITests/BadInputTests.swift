// BadInputTests.swift — one table of wrong inputs to every command: damaged data files (IDX, CIFAR-10, HDF5),
// wrong job files and overrides, missing or wrong checkpoints and run directories. Each must end with exit
// status 1, nothing on standard output, exactly one line on standard error that says what is wrong and names the
// file or key at fault (no stack trace, no Swift runtime error), and no file created, changed or removed: nothing
// a rerun, `descent report` or a person could take for a result.
import Foundation
import Testing

/// A wrong input: `make` writes what it needs into the scratch directory and returns the command line together
/// with the fragments its one error line must contain.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    /// Variables added to the command's environment.
    let environment: [String: String]
    let make: @Sendable (Scratch) async throws -> (arguments: [String], mentions: [String])
    init(_ name: String, environment: [String: String] = [:],
         _ make: @escaping @Sendable (Scratch) async throws -> (arguments: [String], mentions: [String])) {
        self.name = name
        self.environment = environment
        self.make = make
    }
    var testDescription: String { name }
}

// MARK: - Fixtures of the table

/// The small data set of the table: 60 training and 20 test images of 12×12.
private let smallTrain = learnableImages(count: 60, side: 12, seed: 3)
private let smallTest = learnableImages(count: 20, side: 12, seed: 4)

/// Writes the small IDX data set to `scratch/data` (gzipped unless `raw`) and returns the directory.
private func smallData(_ s: Scratch, raw: Bool = false) throws -> String {
    let dir = s.file("data")
    try writeIDXDirectory(dir, train: smallTrain, test: smallTest, gzipped: !raw)
    return dir
}

/// The tables of a valid job over `data` (IDX unless `set` says otherwise), run directories under scratch/runs.
private func tables(_ s: Scratch, data: String, set: String = "fashion-mnist") -> [(String, [String])] {
    [("run", ["name = \"bad\"", "epochs = 1", "output = \"\(s.file("runs"))\""]),
     ("data", ["set = \"\(set)\"", "path = \"\(data)\""]),
     ("model", ["architecture = \"mlp\"", "hidden = [8]"]),
     ("optim", ["batch_size = 16", "lr = 0.1", "momentum = 0.9"])]
}

/// `tables` with `line` ("key = value") in `table`, replacing the line of the same key if there is one.
private func setting(_ tables: [(String, [String])], _ table: String, _ line: String) -> [(String, [String])] {
    var t = tables
    let key = line.split(separator: "=")[0].trimmingCharacters(in: .whitespaces)
    guard let i = t.firstIndex(where: { $0.0 == table }) else { return t + [(table, [line])] }
    if let j = t[i].1.firstIndex(where: { $0.split(separator: "=")[0].trimmingCharacters(in: .whitespaces) == key }) {
        t[i].1[j] = line
    } else {
        t[i].1.append(line)
    }
    return t
}

/// Writes `text` as scratch/job.toml and returns its path.
private func writeJob(_ s: Scratch, _ text: String) throws -> String {
    let path = s.file("job.toml")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The 1-based line of `text` that starts with `prefix`.
private func line(of prefix: String, in text: String) -> Int {
    (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix(prefix) } ?? -1) + 1
}

/// `descent train` on the small data set after `damage` changed its directory.
private func damagedData(_ s: Scratch, raw: Bool = false, _ damage: (String) throws -> Void) throws -> [String] {
    let data = try smallData(s, raw: raw)
    try damage(data)
    return ["train", try writeJob(s, jobText(tables(s, data: data)))]
}

/// `descent train` with the job of `change`d tables over the small data set.
private func job(_ s: Scratch, _ change: ([(String, [String])]) -> [(String, [String])]) throws -> (job: String, text: String) {
    let text = jobText(change(tables(s, data: try smallData(s))))
    return (try writeJob(s, text), text)
}

/// A CIFAR-10 directory of 4 records per batch and a job training on it, after `damage`.
private func damagedCIFAR(_ s: Scratch, _ damage: (String) throws -> Void) throws -> [String] {
    let dir = s.file("cifar")
    try writeCIFARDirectory(dir, perBatch: 4, test: 4)
    try damage(dir)
    return ["train", try writeJob(s, jobText(tables(s, data: dir, set: "cifar10")))]
}

/// What one split of a sample-file data set holds: its classes and whether it has masks.
private typealias Split = (classes: Int, masks: Bool)

/// `descent train` on scratch/h5/train.h5 and test.h5 (16 and 8 samples of 8×8) with `model` (and `optim`)
/// lines; returns the command and the two paths.
private func sampleFiles(_ s: Scratch, train: Split, test: Split, model: [String], optim: [String] = [])
    throws -> (arguments: [String], train: String, test: String) {
    let dir = try s.directory("h5")
    try writeSampleFile(dir + "/train.h5", classes: train.classes, masks: train.masks)
    try writeSampleFile(dir + "/test.h5", count: 8, classes: test.classes, masks: test.masks)
    var t = setting(tables(s, data: dir, set: "hdf5"), "model", "architecture = \"mlp\"")
    for line in model { t = setting(t, "model", line) }
    for line in optim { t = setting(t, "optim", line) }
    return (["train", try writeJob(s, jobText(t))], dir + "/train.h5", dir + "/test.h5")
}

/// Trains the small job to completion (runs/bad) and returns the path of its final.h5.
private func trainedModel(_ s: Scratch) async throws -> String {
    let (path, _) = try job(s) { $0 }
    let outcome = try await descent(["train", path], in: s.path)
    try #require(outcome.succeeded, "fixture: \(outcome)")
    return s.file("runs/bad/final.h5")
}

/// The IDX images of `set` gzipped, as bytes.
private func gzipped(_ s: Scratch, _ bytes: [UInt8]) throws -> [UInt8] {
    let path = s.file("gzip-" + UUID().uuidString)
    try writeGzip(path, bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try readBytes(path)
}

// MARK: - The table

let badInputs: [BadInput] = [
    // Data files.
    BadInput("missing data file (IDX labels)") { s in
        var path = ""
        let args = try damagedData(s) { dir in
            path = dir + "/" + IDXName.trainLabels + ".gz"
            try FileManager.default.removeItem(atPath: path)
        }
        return (args, [s.file("data"), "no \(IDXName.trainLabels) or \(IDXName.trainLabels).gz here"])
    },
    BadInput("data directory that does not exist") { s in
        let (path, _) = try job(s) { setting($0, "data", "path = \"\(s.file("nowhere"))\"") }
        return (["train", path], [s.file("nowhere"), "no such directory"])
    },
    BadInput("truncated IDX images file (gzipped)") { s in
        let file = s.file("data/\(IDXName.trainImages).gz")
        let args = try damagedData(s) { _ in try writeGzip(file, Array(idxImages(smallTrain).dropLast(100))) }
        return (args, [file, "truncated: expected 8640 bytes of pixels, found 8540"])
    },
    BadInput("truncated IDX images file (raw)") { s in
        let file = s.file("data/\(IDXName.trainImages)")
        let args = try damagedData(s, raw: true) { _ in try writeRaw(file, Array(idxImages(smallTrain).prefix(1000))) }
        return (args, [file, "truncated: expected 8640 bytes of pixels, found 984"])
    },
    BadInput("IDX images file with the wrong magic number") { s in
        let file = s.file("data/\(IDXName.trainImages).gz")
        let args = try damagedData(s) { _ in try writeGzip(file, idxImages(smallTrain, magic: 0x0000_0804)) }
        return (args, [file, "not an IDX image file (magic 0x00000804, expected 0x00000803)"])
    },
    BadInput("IDX labels file where the images file should be") { s in
        let file = s.file("data/\(IDXName.testImages).gz")
        let args = try damagedData(s) { _ in try writeGzip(file, idxLabels(smallTest.labels)) }
        return (args, [file, "is it a labels file?"])
    },
    BadInput("mislabeled: fewer IDX labels than images") { s in
        let labels = s.file("data/\(IDXName.trainLabels).gz")
        let args = try damagedData(s) { _ in try writeGzip(labels, idxLabels(Array(smallTrain.labels.dropLast()))) }
        return (args, [s.file("data/\(IDXName.trainImages).gz") + " has 60 images but \(labels) has 59 labels"])
    },
    BadInput("IDX label value out of range") { s in
        let labels = s.file("data/\(IDXName.testLabels).gz")
        var bad = smallTest.labels
        bad[5] = 10
        let args = try damagedData(s) { _ in try writeGzip(labels, idxLabels(bad)) }
        return (args, [labels, "label 10 of sample 5 is outside 0..<10"])
    },
    BadInput("corrupt gzip stream") { s in
        let file = s.file("data/\(IDXName.trainImages).gz")
        let args = try damagedData(s) { _ in
            var bytes = try gzipped(s, idxImages(smallTrain))
            for i in bytes.count / 2..<bytes.count / 2 + 16 { bytes[i] ^= 0xA5 }
            try writeRaw(file, bytes)
        }
        return (args, [file, "corrupt gzip stream (zlib: "])
    },
    BadInput("truncated gzip stream") { s in
        let file = s.file("data/\(IDXName.trainImages).gz")
        let args = try damagedData(s) { _ in
            let bytes = try gzipped(s, idxImages(smallTrain))
            try writeRaw(file, Array(bytes.prefix(bytes.count / 2)))
        }
        return (args, [file, "truncated gzip stream"])
    },
    BadInput("CIFAR-10 file of the wrong size") { s in
        let file = s.file("cifar/data_batch_2.bin")
        let args = try damagedCIFAR(s) { _ in try writeRaw(file, Array(try readBytes(file).dropLast(100))) }
        return (args, [file, "size \(4 * 3073 - 100) is not a multiple of the 3073-byte CIFAR-10 record"])
    },
    BadInput("CIFAR-10 label out of range") { s in
        let file = s.file("cifar/test_batch.bin")
        let args = try damagedCIFAR(s) { _ in
            var bytes = try readBytes(file)
            bytes[2 * 3073] = 11
            try writeRaw(file, bytes)
        }
        return (args, [file, "label 11 of record 2 is outside 0..<10"])
    },
    BadInput("CIFAR-10 batch missing") { s in
        let file = s.file("cifar/data_batch_5.bin")
        let args = try damagedCIFAR(s) { _ in try FileManager.default.removeItem(atPath: file) }
        return (args, [file, "no such file"])
    },
    BadInput("HDF5 sample file that is not HDF5") { s in
        let dir = try s.directory("h5")
        try "not HDF5\n".write(toFile: dir + "/train.h5", atomically: true, encoding: .utf8)
        try "not HDF5\n".write(toFile: dir + "/test.h5", atomically: true, encoding: .utf8)
        return (["train", try writeJob(s, jobText(tables(s, data: dir, set: "hdf5")))], [dir + "/train.h5", "not an HDF5 file"])
    },
    BadInput("test images of another size than the training images") { s in
        let file = s.file("data/\(IDXName.testImages).gz")
        let args = try damagedData(s) { _ in try writeGzip(file, idxImages(learnableImages(count: 20, side: 10))) }
        return (args, ["holds [1, 12, 12] samples but", file, "holds [1, 10, 10]"])
    },
    BadInput("HDF5 test split with more classes than the training split") { s in
        let f = try sampleFiles(s, train: (10, false), test: (12, false), model: [])
        return (f.arguments, [f.test, "has 12 classes but", f.train, "has only 10"])
    },
    BadInput("HDF5 training split with masks, test split without") { s in
        let f = try sampleFiles(s, train: (3, true), test: (3, false), model: ["architecture = \"unet\"", "depth = 1", "channels = 2"])
        return (f.arguments, [f.train + " has /masks", f.test + " has none"])
    },
    BadInput("HDF5 test split with masks, training split without") { s in
        let f = try sampleFiles(s, train: (3, false), test: (3, true), model: [])
        return (f.arguments, [f.test + " has /masks", f.train + " has none"])
    },
    BadInput("HDF5 masks with a classifier model") { s in
        let f = try sampleFiles(s, train: (3, true), test: (3, true), model: [])
        return (f.arguments, ["model: its output is [3] per sample", f.train, "masks of 8×8 in 3 classes", "[3, 8, 8]"])
    },
    BadInput("HDF5 without masks with a segmentation model") { s in
        let f = try sampleFiles(s, train: (3, false), test: (3, false), model: ["architecture = \"unet\"", "depth = 1", "channels = 2"])
        return (f.arguments, ["model: its output is [3, 8, 8] per sample", f.train, "one label per sample", "needs a model whose output is [3]"])
    },
    BadInput("HDF5 masks of another size than the model's output") { s in
        let f = try sampleFiles(s, train: (3, true), test: (3, true), model: [
            "architecture = \"layers\"", "layers = [{ type = \"conv2d\", out = 3, kernel = 1 }, { type = \"maxpool\", kernel = 2 }]"])
        return (f.arguments, ["model: its output is [3, 4, 4] per sample", f.train, "masks of 8×8", "[3, 8, 8]"])
    },
    BadInput("model with fewer outputs than the data's classes") { s in
        let f = try sampleFiles(s, train: (10, false), test: (10, false), model: [
            "architecture = \"layers\"", "layers = [{ type = \"flatten\" }, { type = \"dense\", out = 5 }]"])
        return (f.arguments, ["model: its output is [5] per sample", f.train, "10 classes", "[10]"])
    },
    BadInput("hinge loss with segmentation masks") { s in
        let f = try sampleFiles(s, train: (3, true), test: (3, true), model: ["architecture = \"unet\"", "depth = 1", "channels = 2"],
                                optim: ["loss = \"hinge\""])
        return (f.arguments, ["optim.loss = \"hinge\" is for one label per sample", f.train])
    },
    BadInput("data.subset larger than the training set") { s in
        let (path, _) = try job(s) { setting($0, "data", "subset = 5000") }
        return (["train", path], ["data.subset = 5000", s.file("data/\(IDXName.trainImages).gz"), "only 60 samples"])
    },

    // Job files.
    BadInput("missing job file") { s in
        (["train", s.file("nojob.toml")], [s.file("nojob.toml") + ": no such file"])
    },
    BadInput("job file that is a directory") { s in
        (["train", try s.directory("job.toml")], [s.file("job.toml") + ": is a directory"])
    },
    BadInput("typo in a key, with a suggestion") { s in
        let (path, text) = try job(s) { setting($0, "optim", "momentun = 0.5") }
        return (["train", path], ["\(path):\(line(of: "momentun", in: text)):", "unknown key 'optim.momentun'", "(did you mean 'optim.momentum'?)"])
    },
    BadInput("wrong value type") { s in
        let (path, text) = try job(s) { setting($0, "run", "epochs = \"two\"") }
        return (["train", path], ["\(path):\(line(of: "epochs", in: text)):", "'run.epochs' must be integer ≥ 1, got a string \"two\""])
    },
    BadInput("out-of-range value: negative learning rate") { s in
        let (path, text) = try job(s) { setting($0, "optim", "lr = -0.1") }
        return (["train", path], ["\(path):\(line(of: "lr =", in: text)):", "'optim.lr' must be number > 0.0, got -0.1"])
    },
    BadInput("out-of-range value: batch size 0") { s in
        let (path, text) = try job(s) { setting($0, "optim", "batch_size = 0") }
        return (["train", path], ["\(path):\(line(of: "batch_size", in: text)):", "'optim.batch_size' must be integer ≥ 1, got 0"])
    },
    BadInput("unknown section") { s in
        let (path, text) = try job(s) { $0 + [("training", ["epochs = 3"])] }
        return (["train", path], ["\(path):\(line(of: "[training]", in: text)):", "unknown table [training]"])
    },
    BadInput("key outside every section") { s in
        let path = try writeJob(s, "epochs = 3\n" + jobText(tables(s, data: try smallData(s))))
        return (["train", path], ["\(path):1:", "'epochs' must be a table such as [run]"])
    },
    BadInput("malformed TOML") { s in
        let (path, text) = try job(s) { setting($0, "optim", "lr = 0.1.2") }
        return (["train", path], ["\(path):\(line(of: "lr =", in: text)):", "floating-point"])
    },
    BadInput("unknown architecture name") { s in
        let (path, _) = try job(s) { setting($0, "model", "architecture = \"vgg\"") }
        return (["train", path], [path, "'model.architecture' must be one of: mlp, lenet5", "got \"vgg\""])
    },
    BadInput("architecture that does not fit the images") { s in
        let (path, _) = try job(s) { setting($0, "model", "architecture = \"lenet5\"") }
        return (["train", path], ["model: layer 'conv2'", "does not fit input"])
    },
    BadInput("keys that contradict each other (Nesterov without momentum)") { s in
        let (path, _) = try job(s) { setting(setting($0, "optim", "momentum = 0.0"), "optim", "nesterov = true") }
        return (["train", path], [path, "'optim.nesterov' needs optim.momentum > 0"])
    },
    BadInput("empty run name") { s in
        let (path, _) = try job(s) { setting($0, "run", "name = \"\"") }
        return (["train", path], [path, "'run.name' must be a plain name"])
    },
    BadInput("run.output is a file") { s in
        let (path, _) = try job(s) { setting($0, "run", "output = \"\(s.file("job.toml"))\"") }
        return (["train", path], [s.file("job.toml/bad"), "cannot create the run directory", "\(s.file("job.toml")) is a file, not a directory"])
    },

    BadInput("checkpoint.every that is not N epochs or N steps, with its line") { s in
        let (path, text) = try job(s) { setting($0, "checkpoint", "every = \"5 minutes\"") }
        return (["train", path], ["\(path):\(line(of: "every", in: text)):", "'checkpoint.every' must be \"N epochs\" or \"N steps\"", "\"5 minutes\""])
    },
    BadInput("optim.class_weights of the wrong count, with the job file and its line") { s in
        let (path, text) = try job(s) { setting($0, "optim", "class_weights = [1, 2]") }
        return (["train", path], ["\(path):\(line(of: "class_weights", in: text)):", "optim.class_weights: expected 10 weights"])
    },
    BadInput("relative data.path that does not exist names the key and the job file") { s in
        let (path, text) = try job(s) { setting($0, "data", "path = \"glass/tiles\"") }
        return (["train", path], ["\(path):\(line(of: "path =", in: text)):", "data.path = \"glass/tiles\": no such directory",
                                  "relative to the current directory"])
    },
    BadInput("a string key given a number in the job file: hint to quote it") { s in
        let (path, text) = try job(s) { setting($0, "run", "name = 123") }
        return (["train", path], ["\(path):\(line(of: "name", in: text)):", "'run.name' must be string, got an integer 123", "HINT: put it in quotes, \"123\""])
    },
    BadInput("a sweep file given to train") { s in
        let (base, _) = try job(s) { $0 }
        let sweep = s.file("x.sweep.toml")
        try "job = \"\(base)\"\n[grid]\n\"run.seed\" = [0, 1]\n".write(toFile: sweep, atomically: true, encoding: .utf8)
        return (["train", sweep], ["\(sweep):2:", "a sweep file", "HINT: descent sweep \(sweep)"])
    },
    BadInput("a job file given to sweep") { s in
        let (path, _) = try job(s) { $0 }
        return (["sweep", path], [path, "a job file", "HINT: descent train \(path)"])
    },
    BadInput("a refused --resume PATH leaves no run directory behind") { s in
        let model = try await trainedModel(s)
        let (path, _) = try job(s) { $0 }
        return (["train", path, "--set", "run.name=other", "--set", "model.hidden=[4]", "--resume", model],
                [model, "holds a checkpoint of model", "HINT: --resume a checkpoint of this job"])
    },

    // Overrides.
    BadInput("--set with an unknown key") { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path, "--set", "optim.lrr=0.1"], ["--set optim.lrr=0.1: unknown key 'optim.lrr' (did you mean 'optim.lr'?)"])
    },
    BadInput("--set without '='") { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path, "--set", "optim.lr"], ["--set optim.lr: expected key=value"])
    },
    BadInput("--set with a value of the wrong type") { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path, "--set", "run.epochs=many"], ["--set run.epochs=many: 'run.epochs' must be integer ≥ 1, got a string \"many\""])
    },
    BadInput("--set with a bad value over a finished run leaves it as it was") { s in
        _ = try await trainedModel(s)
        return (["train", s.file("job.toml"), "--set", "optim.lr=-1"], ["--set optim.lr=-1: 'optim.lr' must be number > 0.0, got -1.0"])
    },

    BadInput("--set checkpoint.every with a bad value names the override") { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path, "--set", "checkpoint.every=5_steps"],
                ["--set checkpoint.every=5_steps: 'checkpoint.every' must be \"N epochs\" or \"N steps\""])
    },

    // Environment.
    BadInput("DESCENT_RANKS_PER_NODE=0 with shared gradients", environment: ["DESCENT_RANKS_PER_NODE": "0"]) { s in
        let (path, _) = try job(s) { setting($0, "run", "gradient_reduction = \"shared\"") }
        return (["train", path], ["DESCENT_RANKS_PER_NODE='0': expected a whole number ≥ 1"])
    },
    BadInput("DESCENT_RANKS_PER_NODE that is not a number", environment: ["DESCENT_RANKS_PER_NODE": "two"]) { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path], ["DESCENT_RANKS_PER_NODE='two': expected a whole number ≥ 1"])
    },
    BadInput("DESCENT_BUCKET_FLOATS that is negative", environment: ["DESCENT_BUCKET_FLOATS": "-5"]) { s in
        let (path, _) = try job(s) { $0 }
        return (["train", path], ["DESCENT_BUCKET_FLOATS='-5': expected a whole number ≥ 1"])
    },

    // predict.
    BadInput("predict with a missing checkpoint") { s in
        _ = try smallData(s)
        return (["predict", s.file("runs/x/final.h5"), "--data", s.file("data/\(IDXName.testImages).gz")],
                [s.file("runs/x/final.h5") + ": no such file"])
    },
    BadInput("predict with a checkpoint that is not HDF5") { s in
        _ = try smallData(s)
        try "epoch,step\n".write(toFile: s.file("final.h5"), atomically: true, encoding: .utf8)
        return (["predict", s.file("final.h5"), "--data", s.file("data/\(IDXName.testImages).gz")],
                [s.file("final.h5") + ": not an HDF5 file"])
    },
    BadInput("predict with an HDF5 file that is not a checkpoint") { s in
        let data = try smallData(s)
        let convert = try await descent(["data", "convert", "--set", "mnist", "--path", data, "--out", s.file("h5")], in: s.path)
        try #require(convert.succeeded, "fixture: \(convert)")
        return (["predict", s.file("h5/train.h5"), "--data", s.file("h5/test.h5")],
                [s.file("h5/train.h5") + ": not a Descent checkpoint"])
    },
    BadInput("predict on samples of another shape than the model's") { s in
        let model = try await trainedModel(s)
        try writeCIFARDirectory(s.file("cifar"), perBatch: 1, test: 3)
        return (["predict", model, "--data", s.file("cifar/test_batch.bin"), "--out", s.file("p.csv")],
                [s.file("cifar/test_batch.bin") + ": samples of shape [3, 32, 32]", "takes [1, 12, 12]"])
    },
    BadInput("predict with a missing data file") { s in
        let model = try await trainedModel(s)
        return (["predict", model, "--data", s.file("none-idx3-ubyte.gz"), "--out", s.file("p.csv")],
                [s.file("none-idx3-ubyte.gz") + ": no such file"])
    },
    BadInput("predict with labels that do not match the images") { s in
        let model = try await trainedModel(s)
        let images = s.file("data/\(IDXName.testImages).gz"), labels = s.file("data/\(IDXName.trainLabels).gz")
        return (["predict", model, "--data", images, "--labels", labels, "--out", s.file("p.csv")],
                ["\(images) has 20 images but \(labels) has 60 labels"])
    },
    BadInput("predict writing into a directory that does not exist") { s in
        let model = try await trainedModel(s)
        return (["predict", model, "--data", s.file("data/\(IDXName.testImages).gz"), "--out", s.file("none/p.csv")],
                [s.file("none/p.csv") + ": cannot be written (No such file or directory)"])
    },

    // inspect.
    BadInput("inspect on a run directory without checkpoints") { s in
        let dir = try s.directory("runs/empty")
        return (["inspect", dir], [dir + ": no checkpoint in this directory"])
    },
    BadInput("inspect on a sweep directory") { s in
        let dir = try s.directory("runs/sweep")
        try "run,parameters\n".write(toFile: dir + "/results.csv", atomically: true, encoding: .utf8)
        return (["inspect", dir], [dir + ": a sweep directory", "inspect one of its runs"])
    },

    // report.
    BadInput("report on a directory without metrics") { s in
        (["report", try s.directory("runs/empty")], [s.file("runs/empty") + ": no metrics.csv here"])
    },
    BadInput("report on a malformed metrics.csv") { s in
        _ = try await trainedModel(s)
        let dir = s.file("runs/bad"), metrics = s.file("runs/bad/metrics.csv")
        let header = try readText(metrics).split(separator: "\n")[0]
        try (header + "\n1,8,0.1\n").write(toFile: metrics, atomically: true, encoding: .utf8)
        return (["report", dir], [metrics + " line 2: expected ", "columns, found 3"])
    },

    // data convert.
    BadInput("data convert from a CIFAR-10 file of the wrong size") { s in
        let dir = s.file("cifar")
        try writeCIFARDirectory(dir, perBatch: 2, test: 2)
        try writeRaw(dir + "/test_batch.bin", Array(try readBytes(dir + "/test_batch.bin").dropLast()))
        return (["data", "convert", "--set", "cifar10", "--path", dir, "--out", s.file("converted")],
                [dir + "/test_batch.bin", "is not a multiple of the 3073-byte CIFAR-10 record"])
    },
    BadInput("data convert from a truncated IDX file") { s in
        let data = try smallData(s)
        try writeGzip(data + "/\(IDXName.testLabels).gz", Array(idxLabels(smallTest.labels).dropLast(3)))
        return (["data", "convert", "--set", "mnist", "--path", data, "--out", s.file("converted")],
                [data + "/\(IDXName.testLabels).gz", "truncated: expected 20 bytes of labels, found 17"])
    },
    BadInput("data convert without --path for a data set that has no default directory") { s in
        (["data", "convert", "--set", "mnist", "--out", s.file("converted")], ["--path is required for --set mnist"])
    },

    // submit (before anything reaches Slurm).
    BadInput("submit with a --signal below its minimum names --signal") { s in
        let (path, _) = try job(s) { $0 }
        return (["submit", path, "--signal", "5", "--dry-run"], ["--signal: 'slurm.signal_seconds' must be integer ≥ 10, got 5"])
    },
    BadInput("submit with a --time that is not a Slurm time") { s in
        let (path, _) = try job(s) { $0 }
        return (["submit", path, "--time", "abc", "--dry-run"], ["--time: 'slurm.time' must be a Slurm time limit", "got \"abc\""])
    },
    BadInput("slurm.time in a job file that is not a Slurm time") { s in
        let (path, text) = try job(s) { setting($0, "slurm", "time = \"1h\"") }
        return (["submit", path, "--dry-run"], ["\(path):\(line(of: "time", in: text)):", "'slurm.time' must be a Slurm time limit"])
    },
    BadInput("submit --max-parallel without --array") { s in
        let (path, _) = try job(s) { $0 }
        return (["submit", path, "--max-parallel", "2", "--dry-run"], ["--max-parallel 2", "needs --array N"])
    },
    BadInput("submit --array larger than the sweep's run count") { s in
        let (base, _) = try job(s) { $0 }
        let sweep = s.file("s.toml")
        try "job = \"\(base)\"\n[grid]\n\"run.seed\" = [0, 1]\n".write(toFile: sweep, atomically: true, encoding: .utf8)
        return (["submit", sweep, "--array", "100", "--dry-run"], ["--array 100", "has only 2 run(s)"])
    },

    // glass.
    BadInput("glass synth with a width below its minimum names that one option") { s in
        (["glass", "synth", "--out", s.file("g"), "--width", "512", "--height", "512"], ["--width must be ≥ 1024, got 512"])
    },
    BadInput("glass tiles with an overlap not below the tile names --overlap") { s in
        (["glass", "tiles", s.file("none.tif"), "--out", s.file("t.h5"), "--tile", "128", "--overlap", "200"],
         ["--overlap must be ≥ 0 and less than --tile (128), got 200"])
    },
    BadInput("glass tiles with a background probability above 1 names --background") { s in
        (["glass", "tiles", s.file("none.tif"), "--out", s.file("t.h5"), "--background", "1.5"], ["--background must be between 0 and 1, got 1.5"])
    },

    // sweep files.
    BadInput("sweep grid key not quoted (TOML makes it a table)") { s in
        let (base, _) = try job(s) { $0 }
        let sweep = s.file("s.toml")
        try "job = \"\(base)\"\n[grid]\nrun.seed = [0, 1]\n".write(toFile: sweep, atomically: true, encoding: .utf8)
        return (["sweep", sweep], [sweep, "run.seed without quotes is a table in TOML", "HINT: quote the key, \"run.seed\" = "])
    },
    BadInput("sweep grid with a value given twice") { s in
        let (base, _) = try job(s) { $0 }
        let sweep = s.file("s.toml")
        try "job = \"\(base)\"\n[grid]\n\"run.seed\" = [0, 0]\n".write(toFile: sweep, atomically: true, encoding: .utf8)
        return (["sweep", sweep], [sweep + " [grid] run.seed: the value 0 is given twice"])
    },
    BadInput("sweep [set] of run.name, which the sweep sets itself") { s in
        let (base, _) = try job(s) { $0 }
        let sweep = s.file("s.toml")
        try "job = \"\(base)\"\n[set]\n\"run.name\" = \"same\"\n[grid]\n\"run.seed\" = [0, 1]\n".write(toFile: sweep, atomically: true, encoding: .utf8)
        return (["sweep", sweep], [sweep + " [set] run.name: a sweep sets each run's run.name itself"])
    },
    BadInput("data convert of an unknown data set") { s in
        (["data", "convert", "--set", "hdf5", "--path", try s.directory("data"), "--out", s.file("converted")],
         ["--set must be fashion-mnist, mnist or cifar10, got hdf5"])
    },
]

@Suite("descent, bad inputs")
struct BadInputTests {
    @Test("fails with one line naming the file or key, and leaves nothing behind", arguments: badInputs)
    func badInput(_ c: BadInput) async throws {
        let scratch = try Scratch()
        let (arguments, mentions) = try await c.make(scratch)
        let before = scratch.snapshot()
        let outcome = try await descent(arguments, in: scratch.path, timeLimit: 30, environment: c.environment)

        #expect(!outcome.timedOut, "hung: \(outcome)")
        #expect(!outcome.signalled, "crashed: \(outcome)")
        #expect(outcome.status == 1, "exit status \(outcome.status): \(outcome)")
        #expect(outcome.stdout.isEmpty, "\(outcome)")
        let lines = outcome.stderrLines
        #expect(lines.count == 1, "expected exactly one error line: \(outcome)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("descent: "), "\(outcome)")
        for fragment in mentions {
            #expect(line.contains(fragment), "the error line lacks \(fragment.debugDescription): \(line)")
        }
        for crash in ["Fatal error", "fatal error", "Stack dump", "Backtrace", "backtrace", "Current stack trace", "HDF5-DIAG", "#0 "] {
            #expect(!outcome.stderr.contains(crash), "\(outcome)")
        }

        // Nothing created, changed or removed: no run directory, no metrics, no final.h5, no plots, no output file.
        let after = scratch.snapshot()
        let created = after.keys.filter { before[$0] == nil }.sorted()
        let removed = before.keys.filter { after[$0] == nil }.sorted()
        let changed = before.keys.filter { after[$0] != nil && after[$0] != before[$0] }.sorted()
        #expect(created.isEmpty, "left behind: \(created)")
        #expect(removed.isEmpty, "removed: \(removed)")
        #expect(changed.isEmpty, "changed: \(changed)")
    }

    @Test("the table covers at least 15 cases, each with its own name")
    func tableSize() {
        #expect(badInputs.count >= 15)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count)
    }
}
