// Communicator.swift — the MPI calls Descent makes, on one communicator: rank and size, split, the collectives
// of data-parallel SGD on flat Float buffers (allreduce, reduce-scatter, allgather, broadcast), a one-integer
// agreement, and abort. Every call is made from the main thread (MPI_THREAD_FUNNELED).
import CMPI

public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Nil for `solo`, which makes no MPI calls at all.
    let comm: MPI_Comm!

    init(_ comm: MPI_Comm) {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r); size = Int(s)
    }

    private init() { comm = nil; rank = 0; size = 1 }

    /// All processes of the job. `MPIRuntime.start()` must have run.
    public static var world: Communicator { Communicator(shim_MPI_COMM_WORLD()) }

    /// One process without MPI (library use and tests): every collective is the identity.
    public static let solo = Communicator()

    public var isRoot: Bool { rank == 0 }

    /// The MPI communicator, for libraries that take one (HDF5's MPI-IO driver); nil for `solo`.
    public var mpiHandle: MPI_Comm? { comm }

    /// Splits into groups of equal `color`, ranked by `key` (MPI_Comm_split).
    public func split(color: Int, key: Int) -> Communicator {
        guard comm != nil else { return self }
        var out: MPI_Comm? = nil
        check(MPI_Comm_split(comm, Int32(color), Int32(key), &out), "MPI_Comm_split")
        return Communicator(out!)
    }

    /// The ranks of this communicator that share a node with this one (MPI_COMM_TYPE_SHARED).
    public func node() -> Communicator {
        guard comm != nil else { return self }
        var out: MPI_Comm? = nil
        check(MPI_Comm_split_type(comm, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), shim_MPI_INFO_NULL(), &out),
              "MPI_Comm_split_type")
        return Communicator(out!)
    }

    /// In-place sum over all ranks.
    public func allreduce(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1, count > 0 else { return }
        check(MPI_Allreduce(shim_MPI_IN_PLACE(), buffer, Int32(count), shim_MPI_FLOAT(), shim_MPI_SUM(), comm), "MPI_Allreduce")
    }

    /// In-place sum over all ranks.
    public func allreduce(_ values: inout [Double]) {
        guard !values.isEmpty else { return }
        values.withUnsafeMutableBufferPointer { allreduce($0.baseAddress!, count: $0.count) }
    }

    /// In-place sum over all ranks.
    public func allreduce(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard size > 1, count > 0 else { return }
        check(MPI_Allreduce(shim_MPI_IN_PLACE(), buffer, Int32(count), shim_MPI_DOUBLE(), shim_MPI_SUM(), comm), "MPI_Allreduce")
    }

    /// The largest of every rank's `value` (timings: the slowest rank's).
    public func maximum(_ value: Double) -> Double {
        guard size > 1 else { return value }
        var v = value
        check(MPI_Allreduce(shim_MPI_IN_PLACE(), &v, 1, shim_MPI_DOUBLE(), shim_MPI_MAX(), comm), "MPI_Allreduce")
        return v
    }

    /// Sums `send` (the whole flat vector) over all ranks and leaves slice `rank` of the sum in `receive`;
    /// slice r is `counts[r]` floats long and slices are contiguous in rank order.
    public func reduceScatter(_ send: UnsafePointer<Float>, into receive: UnsafeMutablePointer<Float>, counts: [Int32]) {
        precondition(counts.count == size)
        if size == 1 { receive.update(from: send, count: Int(counts[0])); return }
        counts.withUnsafeBufferPointer { c in
            check(MPI_Reduce_scatter(send, receive, c.baseAddress, shim_MPI_FLOAT(), shim_MPI_SUM(), comm), "MPI_Reduce_scatter")
        }
    }

    /// Gathers slice r of `buffer` from rank r into every rank's `buffer` (in place; slices as in
    /// `reduceScatter`).
    public func allgather(_ buffer: UnsafeMutablePointer<Float>, counts: [Int32], offsets: [Int32]) {
        precondition(counts.count == size && offsets.count == size)
        guard size > 1 else { return }
        counts.withUnsafeBufferPointer { c in
            offsets.withUnsafeBufferPointer { o in
                check(MPI_Allgatherv(shim_MPI_IN_PLACE(), 0, shim_MPI_FLOAT(), buffer, c.baseAddress, o.baseAddress,
                                     shim_MPI_FLOAT(), comm), "MPI_Allgatherv")
            }
        }
    }

    /// Copies rank `root`'s buffer to every rank.
    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int = 0) {
        guard size > 1, bytes > 0 else { return }
        check(MPI_Bcast(buffer, Int32(bytes), shim_MPI_BYTE(), Int32(root), comm), "MPI_Bcast")
    }

    /// Rank `root`'s string on every rank.
    public func broadcast(_ text: String, root: Int = 0) -> String {
        guard size > 1 else { return text }
        var bytes = Array(text.utf8)
        var count = Int64(bytes.count)
        broadcast(&count, bytes: 8, root: root)
        bytes = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        bytes.withUnsafeMutableBytes { broadcast($0.baseAddress!, bytes: $0.count, root: root) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public enum Agreement { case max, min, sum }

    /// One integer agreed by all ranks: the maximum, minimum or sum of every rank's `value`. Used for decisions
    /// that could differ between ranks (a stop signal seen by one, a checkpoint that validated on all).
    public func agree(_ value: Int, _ how: Agreement = .max) -> Int {
        guard size > 1 else { return value }
        var v = Int64(value)
        let op = switch how { case .max: shim_MPI_MAX(); case .min: shim_MPI_MIN(); case .sum: shim_MPI_SUM() }
        check(MPI_Allreduce(shim_MPI_IN_PLACE(), &v, 1, shim_MPI_INT64(), op, comm), "MPI_Allreduce")
        return Int(v)
    }

    public func barrier() { if size > 1 { check(MPI_Barrier(comm), "MPI_Barrier") } }

    /// Ends every process of the job (not only this communicator's) with `code`.
    public func abort(_ code: Int32 = 1) -> Never {
        MPIRuntime.abort(code)
    }

    /// MPI's default error handler aborts the job on a failed call; a return code other than success can only
    /// come back if someone installed MPI_ERRORS_RETURN, and then it is still fatal here.
    func check(_ code: Int32, _ call: String) {
        if code != MPI_SUCCESS { MPIRuntime.fail("\(call) failed with MPI error \(code)") }
    }
}
