// PendingReductions.swift — in-place sums over a communicator that run while the caller computes
// (MPI_Iallreduce): started one by one, moved along by `poll` (Open MPI progresses a non-blocking collective
// only inside MPI calls), completed together by `waitAll`. The request slots are allocated once, so that a
// training step allocates nothing.
import CMPI

public final class PendingReductions {
    public let communicator: Communicator
    private let requests: UnsafeMutablePointer<MPI_Request?>
    private let capacity: Int
    private var count = 0

    /// Room for `capacity` reductions in flight at once.
    public init(communicator: Communicator, capacity: Int) {
        self.communicator = communicator; self.capacity = max(capacity, 1)
        requests = .allocate(capacity: self.capacity)
        requests.initialize(repeating: shim_MPI_REQUEST_NULL(), count: self.capacity)
    }
    deinit { requests.deallocate() }

    /// Starts summing `count` floats at `buffer` over all ranks, in place. The buffer must not be touched until
    /// `waitAll` returns.
    public func start(_ buffer: UnsafeMutablePointer<Float>, count n: Int) {
        guard communicator.size > 1, n > 0 else { return }
        precondition(count < capacity, "PendingReductions: more than \(capacity) in flight")
        communicator.check(MPI_Iallreduce(shim_MPI_IN_PLACE(), buffer, Int32(n), shim_MPI_FLOAT(), shim_MPI_SUM(),
                                          communicator.comm, requests + count), "MPI_Iallreduce")
        count += 1
    }

    /// Lets MPI move the started reductions along without waiting for them.
    public func poll() {
        guard count > 0 else { return }
        var done: Int32 = 0
        communicator.check(MPI_Testall(Int32(count), requests, &done, nil), "MPI_Testall")
    }

    /// Waits until every started reduction is complete.
    public func waitAll() {
        guard count > 0 else { return }
        communicator.check(MPI_Waitall(Int32(count), requests, nil), "MPI_Waitall")
        requests.update(repeating: shim_MPI_REQUEST_NULL(), count: count)
        count = 0
    }
}
