// DataSets.swift — where the training and test splits of a named data set live, and loading them.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum DataSetKind: String, Sendable, CaseIterable {
    case fashionMNIST = "fashion-mnist", mnist, cifar10, hdf5
}

public enum DataSets {
    /// Where Debian's dataset-fashion-mnist package installs the gzipped IDX files.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// The default directory of a data set, if it has one.
    public static func defaultDirectory(_ kind: DataSetKind) -> String? {
        kind == .fashionMNIST ? fashionMNISTDirectory : nil
    }

    /// Loads both splits from `directory` (or the data set's default directory).
    public static func load(_ kind: DataSetKind, directory: String?) throws -> (train: Dataset, test: Dataset) {
        let dir = try checkedDirectory(kind, directory)
        // A sweep trains many runs on the same files in one process: decode them once.
        let key = "\(kind.rawValue):\(dir):\(fingerprint(dir))"
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let loaded = try decode(kind, dir)
        cache.withLock { $0 = [key: loaded] }   // the last data set only: a sweep over data sets does not pile up
        return loaded
    }

    private static let cache = Mutex<[String: (train: Dataset, test: Dataset)]>([:])

    /// Names, sizes and modification times of a directory's files: a changed file is decoded again.
    private static func fingerprint(_ dir: String) -> String {
        guard let d = opendir(dir) else { return "" }
        defer { closedir(d) }
        var parts: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            var st = stat()
            if stat(dir + "/" + name, &st) == 0 { parts.append("\(name)/\(st.st_size)/\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)") }
        }
        return parts.sorted().joined(separator: ";")
    }

    private static func decode(_ kind: DataSetKind, _ dir: String) throws -> (train: Dataset, test: Dataset) {
        switch kind {
        case .fashionMNIST, .mnist:
            return (try IDX.read(images: try idxFile(dir, "train-images-idx3-ubyte"), labels: try idxFile(dir, "train-labels-idx1-ubyte")),
                    try IDX.read(images: try idxFile(dir, "t10k-images-idx3-ubyte"), labels: try idxFile(dir, "t10k-labels-idx1-ubyte")))
        case .cifar10:
            return (try CIFAR10.read(directory: dir, split: .train), try CIFAR10.read(directory: dir, split: .test))
        case .hdf5:
            return (try SampleFile.read(dir + "/train.h5"), try SampleFile.read(dir + "/test.h5"))
        }
    }

    /// The per-sample shape [C, H, W] and the classes of `kind`'s training split, from file headers only (a few
    /// bytes read): what a sweep sizes its models by before any data is loaded.
    public static func sampleShape(_ kind: DataSetKind, directory: String?) throws -> (shape: [Int], classes: Int) {
        let dir = try checkedDirectory(kind, directory)
        switch kind {
        case .fashionMNIST, .mnist:
            let (height, width) = try IDX.imageSize(try idxFile(dir, "train-images-idx3-ubyte"))
            return ([1, height, width], 10)
        case .cifar10: return ([3, 32, 32], 10)
        case .hdf5: return try SampleFileReader.header(dir + "/train.h5")
        }
    }

    /// Both splits of a Descent sample-file data set, prepared as the options say and read as they are used
    /// (Preprocessing.prepare(trainFile:testFile:)); other kinds are loaded into memory first.
    public static func prepare(_ kind: DataSetKind, directory: String?, _ options: DataOptions) throws -> (train: PreparedSplit, test: PreparedSplit) {
        guard kind == .hdf5 else {
            let (train, test) = try load(kind, directory: directory)
            return try Preprocessing.prepare(train: train, test: test, options)
        }
        let dir = try checkedDirectory(kind, directory)
        return try Preprocessing.prepare(trainFile: try SampleFileReader(path: dir + "/train.h5"),
                                         testFile: try SampleFileReader(path: dir + "/test.h5"), options)
    }

    /// The data directory of `kind`: given, or its default; an error names it when it is missing.
    static func checkedDirectory(_ kind: DataSetKind, _ directory: String?) throws -> String {
        guard let dir = directory ?? defaultDirectory(kind) else {
            throw DataError(message: "data.path is required for data.set = \"\(kind.rawValue)\" (the directory holding its files)")
        }
        guard isDirectory(dir) else {
            let hint = kind == .fashionMNIST && dir == fashionMNISTDirectory ? "; HINT: apt-get install dataset-fashion-mnist (scripts/setup does)" : ""
            throw DataError(dir, (exists(dir) ? "is not a directory" : "no such directory") + hint)
        }
        return dir
    }

    /// `name.gz` if present, else `name`.
    static func idxFile(_ dir: String, _ name: String) throws -> String {
        for candidate in ["\(dir)/\(name).gz", "\(dir)/\(name)"] where exists(candidate) { return candidate }
        throw DataError(dir, "no \(name) or \(name).gz here")
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
