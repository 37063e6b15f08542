// JobTests.swift — job files: defaults, overrides, the effective job.toml, the model/optimiser they describe,
// every shipped job in jobs/, and a table of bad job files whose one-line messages name file, line and key.
import Testing
@testable import Job
import Layers
import Optim
import Foundation

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite("Job files")
struct JobTests {
    @Test("defaults, given keys and overrides") func basics() throws {
        let job = try Job(text: "[run]\nepochs = 3\n[optim]\nlr = 1\nmomentum = 0.9\n", source: "x/mine.toml",
                          overrides: ["optim.nesterov=true", "model.hidden=[64, 32]", "data.set=mnist"])
        #expect(job.int("run.epochs") == 3)
        #expect(job.double("optim.lr") == 1.0)                       // an integer where a number is expected
        #expect(job.bool("optim.nesterov"))
        #expect(job.ints("model.hidden") == [64, 32])
        #expect(job.string("data.set") == "mnist")                   // a bare word is a string
        #expect(job.string("run.name") == "mine")                    // from the file name
        #expect(job.int("optim.batch_size") == 128)                  // default
        #expect(job.runDirectory == "runs/mine")
    }

    @Test("the effective job.toml parses back to the same job") func effective() throws {
        let job = try Job(path: packageRoot + "/jobs/fmnist-lenet5.toml", overrides: ["run.epochs=15"])
        let again = try Job(text: job.effectiveTOML, source: "job.toml")
        #expect(again.values == job.values)
        #expect(job.effectiveTOML.contains("epochs = 15\n"))
        #expect(job.effectiveTOML.contains("# default"))
    }

    // Sweep files (*.sweep.toml) are checked in CLITests/SweepTests.swift.
    @Test("every job in jobs/ parses and builds its model", arguments: try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/jobs").filter { $0.hasSuffix(".toml") && !$0.hasSuffix(".sweep.toml") })
    func shipped(file: String) throws {
        let job = try Job(path: packageRoot + "/jobs/" + file)
        let spec = try job.modelSpec()
        // The shipped hdf5 job trains on `descent glass tiles` output: 128 × 128 tiles, 6 pixel classes.
        let (input, classes) = switch job.string("data.set") {
        case "cifar10": ([3, 32, 32], 10)
        case "hdf5": ([1, 128, 128], 6)
        default: ([1, 28, 28], 10)
        }
        _ = try spec.build(input: input, classes: classes, maxBatch: 2)
        if let weights = job.doubles("optim.class_weights") { #expect(weights.count == classes, "\(file): optim.class_weights") }
        _ = try job.sgd()
        _ = try job.learningRate(stepsPerEpoch: 469)
    }

    @Test("the LeNet-5 job is the seed report's setting") func seedSetting() throws {
        let job = try Job(path: packageRoot + "/jobs/fmnist-lenet5.toml")
        let lr = try job.learningRate(stepsPerEpoch: 469)
        #expect(lr.rate(epoch: 99, globalStep: 0) == 0.01 && lr.rate(epoch: 100, globalStep: 0) == 0.005)
        #expect(try job.sgd() == (try SGD(momentum: 0.9, nesterov: true, weightDecay: 0.001)))
        #expect(try job.modelSpec().architecture == .lenet5 && (try job.modelSpec().initializer) == .kaimingNormal)
    }

    @Test("an explicit layer list with a skip") func layerList() throws {
        let text = """
        [model]
        architecture = "layers"
        layers = [
          { type = "flatten" },
          { type = "dense", out = 16, name = "h" },
          { type = "relu" },
          { type = "add", inputs = ["h", "relu1"] },
          { type = "dense", out = 10, bias = false },
        ]
        """
        let job = try Job(text: text, source: "l.toml")
        let model = try job.modelSpec().build(input: [1, 4, 4], classes: 10, maxBatch: 2)
        #expect(model.parameterCount == 16 * 16 + 16 + 16 * 10)
        #expect(try Job(text: job.effectiveTOML, source: "again").values == job.values)
    }

    @Test("checkpoint.every in epochs or steps") func every() throws {
        #expect(try Job(text: "[checkpoint]\nevery = \"500 steps\"", source: "c.toml").checkpointEvery() == .steps(500))
        #expect(try Job(text: "", source: "c.toml").checkpointEvery() == .epochs(1))
    }

    @Test("--set of a string key takes a value that TOML reads as a number, boolean or time as its text") func stringOverrides() throws {
        let job = try Job(text: "", source: "s.toml", overrides: ["run.name=123", "slurm.time=12:00:00", "slurm.partition=true",
                                                                  "slurm.account=2024-01-01", "run.output=nan"])
        #expect(job.string("run.name") == "123")
        #expect(job.string("slurm.time") == "12:00:00")
        #expect(job.string("slurm.partition") == "true")
        #expect(job.string("slurm.account") == "2024-01-01")
        #expect(job.string("run.output") == "nan")
        // Quoted as before; other keys keep their types.
        #expect(try Job(text: "", source: "s.toml", overrides: ["run.name=\"nan\"", "run.epochs=3"]).string("run.name") == "nan")
        #expect(throws: JobError("--set run.epochs=12:00:00: 'run.epochs' is a date or time; expected integer ≥ 1")) {
            try Job(text: "", source: "s.toml", overrides: ["run.epochs=12:00:00"])
        }
    }

    @Test("slurm.time in each of sbatch's formats") func slurmTime() throws {
        for good in ["90", "90:30", "12:00:00", "2-12", "2-12:30", "2-12:30:00", "UNLIMITED"] { #expect(Job.isSlurmTime(good), "\(good)") }
        for bad in ["abc", "", "1h", "12:00:00:00", "-1", "2-", "1:2:", "2-3-4"] { #expect(!Job.isSlurmTime(bad), "\(bad)") }
    }

    /// Bad job files: (name, file text, overrides, the exact message).
    static let badJobs: [(String, String, [String], String)] = [
        ("unknown key with a suggestion", "[optim]\nlr = 0.1\nmomentun = 0.9\n", [], "bad.toml:3: unknown key 'optim.momentun' (did you mean 'optim.momentum'?)"),
        ("unknown table", "[run]\nepochs = 2\n[optimizer]\nlr = 0.1\n", [], "bad.toml:3: unknown table [optimizer]; known tables: run, data, model, optim, checkpoint, eval, slurm"),
        ("key outside a table", "epochs = 3\n", [], "bad.toml:1: 'epochs' must be a table such as [run]; every key belongs to one of [run], [data], [model], [optim], [checkpoint], [eval], [slurm]"),
        ("wrong type", "[run]\nepochs = \"ten\"\n", [], "bad.toml:2: 'run.epochs' must be integer ≥ 1, got a string \"ten\""),
        ("out of range", "[optim]\nlr = -0.1\n", [], "bad.toml:2: 'optim.lr' must be number > 0.0, got -0.1"),
        ("fraction above 1", "[data]\nlabel_noise = 1.5\n", [], "bad.toml:2: 'data.label_noise' must be number in [0.0, 1.0], got 1.5"),
        ("unknown choice", "[data]\nset = \"imagenet\"\n", [], "bad.toml:2: 'data.set' must be one of: fashion-mnist, mnist, cifar10, hdf5; got \"imagenet\""),
        ("float where an integer is needed", "[optim]\nbatch_size = 12.5\n", [], "bad.toml:2: 'optim.batch_size' must be integer ≥ 1, got a number 12.5"),
        ("list of the wrong kind", "[model]\nhidden = [64, \"wide\"]\n", [], "bad.toml:2: 'model.hidden' must be list of integers ≥ 1, got [64, \"wide\"]"),
        ("TOML syntax", "[run\nepochs = 2\n", [], "bad.toml:1: Error while parsing table header: expected ']', saw '\\n' (column 5)"),
        ("Nesterov without momentum", "[optim]\nnesterov = true\n", [], "bad.toml: 'optim.nesterov' needs optim.momentum > 0 and optim.dampening = 0 (momentum is 0.0, dampening 0.0)"),
        ("layers without a list", "[model]\narchitecture = \"layers\"\n", [], "bad.toml: model.architecture = \"layers\" needs a model.layers list"),
        ("bad checkpoint interval", "[checkpoint]\nevery = \"often\"\n", [], "bad.toml:2: 'checkpoint.every' must be \"N epochs\" or \"N steps\" with N ≥ 1, got \"often\""),
        ("bad checkpoint interval override", "", ["checkpoint.every=5_steps"], "--set checkpoint.every=5_steps: 'checkpoint.every' must be \"N epochs\" or \"N steps\" with N ≥ 1, got \"5_steps\""),
        ("number for a string key", "[run]\nname = 123\n", [], "bad.toml:2: 'run.name' must be string, got an integer 123; HINT: put it in quotes, \"123\""),
        ("slurm.time not in a Slurm format", "[slurm]\ntime = \"2h\"\n", [], "bad.toml:2: 'slurm.time' must be a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS; a bare number is minutes), got \"2h\""),
        ("a sweep file", "job = \"x.toml\"\n[grid]\n\"run.seed\" = [0, 1]\n", [], "bad.toml:2: a sweep file (it has a [grid]), not a job file; HINT: descent sweep bad.toml"),
        ("unknown override key", "", ["optim.learning_rate=0.1"], "--set optim.learning_rate=0.1: unknown key 'optim.learning_rate'"),
        ("override without '='", "", ["optim.lr"], "--set optim.lr: expected key=value, e.g. --set optim.lr=0.05"),
        ("override of the wrong type", "", ["run.epochs=many"], "--set run.epochs=many: 'run.epochs' must be integer ≥ 1, got a string \"many\""),
    ]

    @Test("bad job files stop with one line naming file, line, key and problem", arguments: badJobs.indices)
    func bad(_ i: Int) {
        let (_, text, overrides, expected) = JobTests.badJobs[i]
        do {
            _ = try Job(text: text, source: "bad.toml", overrides: overrides)
            Issue.record("no error for case \(i)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test("a missing job file and a directory") func missing() {
        #expect(throws: JobError("/nonexistent/job.toml: no such file")) { try Job(path: "/nonexistent/job.toml") }
        #expect(throws: JobError("/tmp: is a directory, not a file")) { try Job(path: "/tmp") }
    }

    @Test("an unknown layer option in a job's layer list") func layerOption() throws {
        let job = try Job(text: "[model]\narchitecture = \"layers\"\nlayers = [{ type = \"conv2d\", out = 4, kernal = 3 }]\n", source: "l.toml")
        #expect(throws: ModelError("model.layers[1] (conv2d): unknown option 'kernal'; it takes out, kernel, stride, padding, bias")) {
            _ = try job.modelSpec().build(input: [1, 8, 8], classes: 2, maxBatch: 1)
        }
    }

    @Test("docs/job-files.md is the schema's documentation") func docs() throws {
        let doc = try String(contentsOfFile: packageRoot + "/docs/job-files.md", encoding: .utf8)
        #expect(doc == JobDocumentation.markdown, "regenerate it: .build/release/descent docs job-files > docs/job-files.md")
    }
}
