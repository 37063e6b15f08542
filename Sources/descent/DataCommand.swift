// DataCommand.swift — `descent data convert`: IDX or CIFAR-10 binary files to Descent's HDF5 sample files,
// which ranks of a distributed job can read sample by sample.
import ArgumentParser
import Data

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Work with data sets.",
        subcommands: [Convert.self]
    )

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a data set to HDF5 sample files (OUT/train.h5 and OUT/test.h5).",
            discussion: """
            The HDF5 files hold /images (uint8, N×C×H×W), /labels (int32, N) and the attributes format = \
            "descent-samples", version, classes, source. Train on them with data.set = "hdf5" and data.path = OUT.
            """
        )

        @Option(help: "The data set: fashion-mnist, mnist or cifar10.")
        var set: String = "fashion-mnist"

        @Option(help: "Directory of the source files (default for fashion-mnist: \(DataSets.fashionMNISTDirectory)).")
        var path: String?

        @Option(help: "Output directory.")
        var out: String

        func run() throws {
            try failing {
                guard let kind = DataSetKind(rawValue: set), kind != .hdf5 else {
                    throw DataError(message: "--set must be fashion-mnist, mnist or cifar10, got \(set)")
                }
                guard path != nil || DataSets.defaultDirectory(kind) != nil else {
                    throw DataError(message: "--path is required for --set \(set) (the directory holding its files)")
                }
                let (train, test) = try DataSets.load(kind, directory: path)
                try makeDirectory(out)
                InterruptCleanup.removeTemporaries(of: [out + "/train.h5", out + "/test.h5"])
                for (name, split) in [("train", train), ("test", test)] {
                    let file = out + "/\(name).h5"
                    try SampleFile.write(split, to: file)
                    print("\(file): \(split.count) samples of \(split.shape), \(split.classes) classes")
                }
            }
        }
    }
}
