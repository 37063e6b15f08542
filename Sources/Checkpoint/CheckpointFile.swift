// CheckpointFile.swift — the layout of Descent's checkpoint files (DESIGN §4), also used for a run's final model:
//
//   /                        attributes format = "descent-checkpoint", version, descent_version, created
//   /model                   attributes spec (canonical model spec), job (the effective job.toml), classes, and
//                            image_width when the training tiles were cut from line-scan images of one width
//   /model/input_shape       int64 [rank]
//   /model/layout/{name,offset,rank,shape}          one row per parameter tensor (shape padded with 0 to 4 dims)
//   /model/buffer_layout/{name,offset,rank,shape}   the same for non-trainable state (BatchNorm statistics)
//   /params                  float32 [P]    the flat parameter vector             (attribute crc32)
//   /buffers                 float32 [S]    the flat non-trainable state           (attribute crc32)
//   /optimizer/momentum      float32 [P]    SGD's momentum buffer, when it has one (attribute crc32)
//   /state                   attributes epoch, step_in_epoch, global_step, seed, world_size, learning_rate,
//                            requeue_count, and the current epoch's batch sums (batch_loss_sum, batch_correct,
//                            batch_count, batch_samples); run_id, the run the checkpoint belongs to;
//                            reached_zero_train_error (1: the run ended there, run.stop_at_zero_train_error);
//                            wall_seconds, the run's time so far over all its attempts (rank 0's clock)
//   /data/shift, /data/scale float32 [C]    the input normalisation: x ↦ (x/255 − shift)·scale
//   /data                    attribute fingerprint: the training data (DataFingerprint), compared on resume
//   /metrics                 float64 [E, C] one row per epoch, attribute columns (the C names, comma-separated;
//                            NaN where not measured)
import CZlib
import Distributed
import HDF5
import Layers
import CHDF5
#if canImport(Glibc)
import Glibc
#endif

public enum CheckpointFormat {
    public static let name = "descent-checkpoint"
    public static let version: Int64 = 1
    public static let descentVersion = "0.1.0"
}

/// Where a run stands and what it needs to continue exactly.
public struct TrainingState: Equatable, Sendable {
    static let batchSumNames = ["batch_loss_sum", "batch_correct", "batch_count", "batch_samples"]
    public var epoch = 0, stepInEpoch = 0, globalStep = 0
    public var seed: UInt64 = 0
    public var worldSize = 1
    public var learningRate = 0.0
    public var requeueCount = 0
    /// The current epoch's training-batch sums so far, over all ranks: loss, correct, count, samples.
    public var batchSums: [Double] = [0, 0, 0, 0]
    /// The run this checkpoint belongs to: every run that starts over gets a new id (empty: written before
    /// checkpoints had ids).
    public var runID = ""
    /// The run ended here because it reached zero training error (run.stop_at_zero_train_error).
    public var reachedZeroTrainError = false
    /// Seconds the run has taken so far, summed over its attempts (0: written before checkpoints kept it).
    public var wallSeconds = 0.0
    public init() {}

    /// Where the run stands, with epochs numbered from 1 as in the progress lines and metrics.csv (`epoch` counts
    /// completed epochs): "at the end of epoch 3 (global step 48)", "5 steps into epoch 4 (global step 53)".
    public var position: String {
        let place = stepInEpoch > 0 ? "\(stepInEpoch) step\(stepInEpoch == 1 ? "" : "s") into epoch \(epoch + 1)"
            : epoch == 0 ? "before the first step" : "at the end of epoch \(epoch)"
        return "\(place) (global step \(globalStep))"
    }
}

/// Everything a checkpoint holds, in memory.
public struct CheckpointContents {
    public var modelSpec: String
    public var job: String
    public var inputShape: [Int]
    public var classes: Int
    public var layout: [LayoutEntry]
    public var bufferLayout: [LayoutEntry]
    public var parameters: [Float]
    public var buffers: [Float]
    /// SGD's momentum: the whole vector when read from a file; when writing, this rank's part, which starts at
    /// `momentumOffset` (every rank holds the whole vector only with the allreduce reduction).
    public var momentum: [Float]?
    public var momentumOffset = 0
    public var state: TrainingState
    public var shift: [Float], scale: [Float]
    /// The metrics history: column names and one row per epoch.
    public var metricsColumns: [String]
    public var metrics: [[Double]]
    /// The width of the line-scan images the training tiles were cut from (nil for other data).
    public var imageWidth: Int? = nil
    /// The data the run trains on (DataFingerprint; nil in checkpoints written before it was recorded).
    public var dataFingerprint: String? = nil

    public init(modelSpec: String, job: String, inputShape: [Int], classes: Int, layout: [LayoutEntry],
                bufferLayout: [LayoutEntry], parameters: [Float], buffers: [Float], momentum: [Float]?,
                state: TrainingState, shift: [Float], scale: [Float], metricsColumns: [String], metrics: [[Double]]) {
        self.metricsColumns = metricsColumns
        self.modelSpec = modelSpec; self.job = job; self.inputShape = inputShape; self.classes = classes
        self.layout = layout; self.bufferLayout = bufferLayout; self.parameters = parameters; self.buffers = buffers
        self.momentum = momentum; self.state = state; self.shift = shift; self.scale = scale; self.metrics = metrics
    }
}

/// CRC-32 (zlib) of a Float buffer's bytes.
public func crc32(_ values: UnsafeBufferPointer<Float>) -> Int64 {
    let bytes = UnsafeRawBufferPointer(values)
    return Int64(CZlib.crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count)))
}

/// Which part of the flat vectors this rank writes when a checkpoint is written by several ranks.
public struct WriteShare {
    public let communicator: Communicator
    /// This rank's contiguous slice of /params.
    public let parameters: Range<Int>
    public init(communicator: Communicator, parameters: Range<Int>) {
        self.communicator = communicator; self.parameters = parameters
    }
    /// One process writes everything.
    public static func whole(_ count: Int) -> WriteShare { WriteShare(communicator: .solo, parameters: 0..<count) }
}

public enum CheckpointFile {
    /// Writes `c` to `path`. With several ranks every rank of `share.communicator` calls this: the file is opened
    /// with the MPI-IO driver, each rank writes its slice of /params and its part of /optimizer/momentum, rank 0
    /// the small datasets, and the checksums of the flat vectors are combined from the slices' checksums.
    /// Flushed to disk (fsync) before it returns; the caller renames it into place.
    /// With several ranks, a failure on one rank after the file was created on all of them is a CollectiveBroken:
    /// the other ranks are inside collective HDF5 calls, so the job must abort (a full disk would hang it otherwise).
    public static func write(_ c: CheckpointContents, to path: String, share: WriteShare? = nil) throws {
        let share = share ?? .whole(c.parameters.count)
        let comm = share.communicator
        let f = try createOnEveryRank(path, comm)
        do {
            try write(c, into: f, share: share)
        } catch where comm.size > 1 {
            f.abandon()
            throw CollectiveBroken("\(error)")
        }
    }

    /// Creates `path` on every rank of `comm` (MPI-IO), or fails on all of them alike.
    private static func createOnEveryRank(_ path: String, _ comm: Communicator) throws -> HDF5File {
        guard comm.size > 1 else { return try HDF5File.create(path) }
        let created = Result { try HDF5File.create(path, parallelOver: comm.mpiHandle) }
        let failed = comm.agree((try? created.get()) == nil ? comm.rank : comm.size, .min)
        if failed < comm.size {
            (try? created.get())?.abandon()
            if case .failure(let error) = created { throw error }
            throw HDF5Error(path, "cannot be created on rank \(failed)")
        }
        return try created.get()
    }

    private static func write(_ c: CheckpointContents, into f: HDF5File, share: WriteShare) throws {
        let comm = share.communicator
        f.writesWholeDatasets = comm.isRoot
        // Attributes are collective: every rank must give the same value, so rank 0's clock and checksums count.
        try f.setAttribute("format", CheckpointFormat.name)
        try f.setAttribute("version", CheckpointFormat.version)
        try f.setAttribute("descent_version", CheckpointFormat.descentVersion)
        try f.setAttribute("created", comm.size > 1 ? comm.broadcast(comm.isRoot ? isoNow() : "") : isoNow())

        try f.createGroup("/model")
        try f.setAttribute("spec", c.modelSpec, on: "/model")
        try f.setAttribute("job", c.job, on: "/model")
        try f.setAttribute("classes", Int64(c.classes), on: "/model")
        if let width = c.imageWidth { try f.setAttribute("image_width", Int64(width), on: "/model") }
        try f.write("/model/input_shape", int64s: c.inputShape.map { Int64($0) })
        try writeLayout(f, "/model/layout", c.layout)
        try writeLayout(f, "/model/buffer_layout", c.bufferLayout)

        try c.parameters.withUnsafeBufferPointer { p in
            let mine = UnsafeBufferPointer(rebasing: p[share.parameters])
            try writeSliced(f, "/params", total: p.count, offset: share.parameters.lowerBound, slice: mine, comm)
        }
        try writeChecked(f, "/buffers", c.buffers, comm)
        try f.createGroup("/optimizer")
        if let m = c.momentum {
            // The momentum's owner of each element writes it: this rank's share of /params, taken from the part of
            // the momentum it holds.
            let lo = share.parameters.lowerBound - c.momentumOffset, hi = share.parameters.upperBound - c.momentumOffset
            guard lo >= 0, hi <= m.count else {
                throw HDF5Error(f.path, "internal: momentum part \(c.momentumOffset)..<\(c.momentumOffset + m.count) does not cover the slice \(share.parameters)")
            }
            try m.withUnsafeBufferPointer { b in
                try writeSliced(f, "/optimizer/momentum", total: c.parameters.count, offset: share.parameters.lowerBound,
                                slice: UnsafeBufferPointer(rebasing: b[lo..<hi]), comm)
            }
        }

        try f.createGroup("/state")
        let s = c.state
        for (k, v) in [("epoch", s.epoch), ("step_in_epoch", s.stepInEpoch), ("global_step", s.globalStep),
                       ("world_size", s.worldSize), ("requeue_count", s.requeueCount)] {
            try f.setAttribute(k, Int64(v), on: "/state")
        }
        try f.setAttribute("seed", Int64(bitPattern: s.seed), on: "/state")
        try f.setAttribute("learning_rate", s.learningRate, on: "/state")
        for (k, v) in zip(TrainingState.batchSumNames, s.batchSums) { try f.setAttribute(k, v, on: "/state") }
        if !s.runID.isEmpty { try f.setAttribute("run_id", s.runID, on: "/state") }
        try f.setAttribute("reached_zero_train_error", Int64(s.reachedZeroTrainError ? 1 : 0), on: "/state")
        var wall = s.wallSeconds
        if comm.size > 1 { comm.broadcast(&wall, bytes: MemoryLayout<Double>.size) }   // rank 0's clock
        try f.setAttribute("wall_seconds", wall, on: "/state")

        try f.createGroup("/data")
        if let fingerprint = c.dataFingerprint { try f.setAttribute("fingerprint", fingerprint, on: "/data") }
        try writeChecked(f, "/data/shift", c.shift, comm)
        try writeChecked(f, "/data/scale", c.scale, comm)

        let rows = c.metrics.count, cols = c.metricsColumns.count
        let flat = c.metrics.flatMap { $0.count == cols ? $0 : [Double](repeating: .nan, count: cols) }
        try flat.withUnsafeBytes { try f.write("/metrics", shape: [rows, cols], type: shim_H5T_NATIVE_DOUBLE(), $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!) }
        try f.setAttribute("columns", c.metricsColumns.joined(separator: ","), on: "/metrics")
        try f.flush()
        try f.close()
    }

    /// A flat vector written by slices; its crc32 attribute is the checksum of the whole vector, combined from
    /// the slices' checksums in rank order (zlib's crc32_combine), so that no rank needs the whole vector.
    private static func writeSliced(_ f: HDF5File, _ name: String, total: Int, offset: Int, slice: UnsafeBufferPointer<Float>,
                                    _ comm: Communicator) throws {
        try f.write(name, total: total, offset: offset, slice: slice)
        var parts = [Double](repeating: 0, count: 2 * comm.size)
        parts[2 * comm.rank] = Double(crc32(slice))
        parts[2 * comm.rank + 1] = Double(slice.count * MemoryLayout<Float>.stride)
        comm.allreduce(&parts)
        var crc: UInt = 0
        for r in 0..<comm.size {
            crc = crc32_combine(crc, UInt(parts[2 * r]), Int(parts[2 * r + 1]))
        }
        try f.setAttribute("crc32", Int64(crc), on: name)
    }

    /// A small vector that rank 0 writes whole; its checksum is rank 0's too.
    private static func writeChecked(_ f: HDF5File, _ name: String, _ values: [Float], _ comm: Communicator) throws {
        try values.withUnsafeBufferPointer { b in
            try f.write(name, floats: b.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: b.count)
            let crc = crc32(b)
            try f.setAttribute("crc32", comm.size > 1 ? Int64(comm.agree(comm.isRoot ? Int(crc) : Int.min, .max)) : crc, on: name)
        }
    }

    private static func writeLayout(_ f: HDF5File, _ group: String, _ layout: [LayoutEntry]) throws {
        try f.createGroup(group)
        try f.write(group + "/name", strings: layout.map(\.name))
        try f.write(group + "/offset", int64s: layout.map { Int64($0.offset) })
        try f.write(group + "/rank", int64s: layout.map { Int64($0.shape.count) })
        try f.write(group + "/shape", int64s: layout.flatMap { e in (0..<4).map { $0 < e.shape.count ? Int64(e.shape[$0]) : 0 } },
                    shape: [layout.count, 4])
    }

    /// Reads and validates `path`: format, version, every checksum, the structure (CheckpointValidation.swift).
    /// Errors name the file and the problem.
    public static func read(_ path: String) throws -> CheckpointContents {
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        let format = (try? f.stringAttribute("format")) ?? "none"
        guard format == CheckpointFormat.name else {
            throw HDF5Error(path, "not a Descent checkpoint (format attribute '\(format)', expected '\(CheckpointFormat.name)')")
        }
        let version = try f.intAttribute("version")
        guard version == CheckpointFormat.version else {
            throw HDF5Error(path, "checkpoint format version \(version); this Descent reads version \(CheckpointFormat.version)")
        }
        let momentum = f.exists("/optimizer/momentum") ? try readChecked(f, "/optimizer/momentum") : nil
        var state = TrainingState()
        state.epoch = Int(try f.intAttribute("epoch", on: "/state"))
        state.stepInEpoch = Int(try f.intAttribute("step_in_epoch", on: "/state"))
        state.globalStep = Int(try f.intAttribute("global_step", on: "/state"))
        state.seed = UInt64(bitPattern: try f.intAttribute("seed", on: "/state"))
        state.worldSize = Int(try f.intAttribute("world_size", on: "/state"))
        state.requeueCount = Int(try f.intAttribute("requeue_count", on: "/state"))
        state.learningRate = try f.doubleAttribute("learning_rate", on: "/state")
        state.batchSums = try TrainingState.batchSumNames.map { try f.doubleAttribute($0, on: "/state") }
        if f.hasAttribute("run_id", on: "/state") { state.runID = try f.stringAttribute("run_id", on: "/state") }
        if f.hasAttribute("wall_seconds", on: "/state") { state.wallSeconds = try f.doubleAttribute("wall_seconds", on: "/state") }
        if f.hasAttribute("reached_zero_train_error", on: "/state") {
            state.reachedZeroTrainError = try f.intAttribute("reached_zero_train_error", on: "/state") != 0
        }
        let metricsColumns = f.exists("/metrics")
            ? try f.stringAttribute("columns", on: "/metrics").split(separator: ",").map(String.init) : []
        let cols = max(metricsColumns.count, 1)
        let metricsFlat = f.exists("/metrics") ? try readDoubles(f, "/metrics") : []
        let metrics = stride(from: 0, to: metricsFlat.count - cols + 1, by: cols).map { Array(metricsFlat[$0..<$0 + cols]) }
        var c = CheckpointContents(
            modelSpec: try f.stringAttribute("spec", on: "/model"), job: try f.stringAttribute("job", on: "/model"),
            inputShape: try f.readInt64s("/model/input_shape").map { Int($0) },
            classes: Int(try f.intAttribute("classes", on: "/model")),
            layout: try readLayout(f, "/model/layout"), bufferLayout: try readLayout(f, "/model/buffer_layout"),
            parameters: try readChecked(f, "/params"), buffers: try readChecked(f, "/buffers"), momentum: momentum,
            state: state, shift: try readChecked(f, "/data/shift"), scale: try readChecked(f, "/data/scale"),
            metricsColumns: metricsColumns, metrics: metrics)
        if f.hasAttribute("image_width", on: "/model") { c.imageWidth = Int(try f.intAttribute("image_width", on: "/model")) }
        if f.hasAttribute("fingerprint", on: "/data") { c.dataFingerprint = try f.stringAttribute("fingerprint", on: "/data") }
        if let problem = c.structureProblem() { throw HDF5Error(path, "corrupt " + problem) }
        return c
    }

    private static func readChecked(_ f: HDF5File, _ name: String) throws -> [Float] {
        let values = try f.readFloats(name)
        let stored = try f.intAttribute("crc32", on: name)
        let actual = values.withUnsafeBufferPointer { crc32($0) }
        guard stored == actual else {
            throw HDF5Error(f.path, "checksum mismatch in \(name) (stored \(stored), computed \(actual)): the file is corrupt")
        }
        return values
    }

    private static func readDoubles(_ f: HDF5File, _ name: String) throws -> [Double] {
        let n = try f.shape(name).reduce(1, *)
        var out = [Double](repeating: 0, count: n)
        try out.withUnsafeMutableBytes { try f.read(name, as: shim_H5T_NATIVE_DOUBLE(), typeClass: H5T_FLOAT, count: n, into: $0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!) }
        return out
    }

    private static func readLayout(_ f: HDF5File, _ group: String) throws -> [LayoutEntry] {
        let names = try f.readStrings(group + "/name"), offsets = try f.readInt64s(group + "/offset")
        let ranks = try f.readInt64s(group + "/rank"), shapes = try f.readInt64s(group + "/shape")
        guard offsets.count == names.count, ranks.count == names.count, shapes.count == 4 * names.count else {
            throw HDF5Error(f.path, "corrupt \(group): \(names.count) names, \(offsets.count) offsets, \(ranks.count) ranks, \(shapes.count) shape entries")
        }
        return try names.indices.map { i in
            let rank = ranks[i], shape = shapes[4 * i..<4 * i + 4]
            guard (0...4).contains(rank), shape.allSatisfy({ $0 >= 0 }) else {
                throw HDF5Error(f.path, "corrupt \(group): \(names[i]) has rank \(rank) and shape \(Array(shape)) (expected a rank of 0 to 4 and sizes ≥ 0)")
            }
            return LayoutEntry(name: names[i], offset: Int(offsets[i]), shape: shape.prefix(Int(rank)).map { Int($0) })
        }
    }
}

func isoNow() -> String {
    var t = time(nil)
    var tmv = tm()
    gmtime_r(&t, &tmv)
    var buffer = [CChar](repeating: 0, count: 32)
    let n = strftime(&buffer, 32, "%Y-%m-%dT%H:%M:%SZ", &tmv)
    return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
