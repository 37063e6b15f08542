// SharedWindow.swift — memory that the ranks of one node all map (MPI_Win_allocate_shared): each rank owns a
// segment of Floats and can read or write every other rank's segment directly, with no message and no copy.
// GradientSync keeps the node's gradients and its one copy of the parameters here.
import CMPI

public final class SharedWindow: @unchecked Sendable {
    public let communicator: Communicator
    /// Floats in each rank's segment (segments may differ in length; some may be empty).
    public let counts: [Int]
    private var window: MPI_Win?
    private var bases: [UnsafeMutablePointer<Float>]

    /// Collective over `communicator`, whose ranks must share a node (`Communicator.node()` or a part of it).
    public init(communicator: Communicator, floats: Int) {
        self.communicator = communicator
        guard let comm = communicator.mpiHandle else {   // solo: plain memory
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(floats, 1) * 4, alignment: 64)
            let base = raw.bindMemory(to: Float.self, capacity: max(floats, 1))
            base.initialize(repeating: 0, count: max(floats, 1))
            counts = [floats]; bases = [base]; window = nil
            return
        }
        var mine: UnsafeMutableRawPointer? = nil
        var win: MPI_Win? = nil
        // Segments padded to whole cache lines (at least one) so that no two ranks write the same line.
        let padded = max((floats + 15) / 16 * 16, 16)
        communicator.check(MPI_Win_allocate_shared(MPI_Aint(padded * 4), 4, shim_MPI_INFO_NULL(), comm, &mine, &win),
                           "MPI_Win_allocate_shared")
        var counts: [Int] = []
        var bases: [UnsafeMutablePointer<Float>] = []
        for r in 0..<communicator.size {
            var size: MPI_Aint = 0, unit: Int32 = 0
            var base: UnsafeMutableRawPointer? = nil
            communicator.check(MPI_Win_shared_query(win, Int32(r), &size, &unit, &base), "MPI_Win_shared_query")
            counts.append(r == communicator.rank ? floats : Int(size) / 4)
            bases.append((base ?? mine!).bindMemory(to: Float.self, capacity: max(Int(size) / 4, 1)))
        }
        (mine!).bindMemory(to: Float.self, capacity: max(padded, 1)).initialize(repeating: 0, count: padded)
        self.counts = counts; self.bases = bases; window = win
        // One passive-target epoch for the window's whole life: MPI_Win_sync is valid only inside one.
        communicator.check(MPI_Win_lock_all(Int32(MPI_MODE_NOCHECK), win), "MPI_Win_lock_all")
        fence()
    }

    /// Rank `r`'s segment.
    public func segment(_ r: Int) -> UnsafeMutablePointer<Float> { bases[r] }

    /// Every rank's writes to the window (and to `other`, a window over the same ranks) before the fence are
    /// visible to every rank after it (memory barrier, MPI_Barrier, memory barrier).
    public func fence(with other: SharedWindow? = nil) {
        guard let window else { return }
        communicator.check(MPI_Win_sync(window), "MPI_Win_sync")
        if let w = other?.window { communicator.check(MPI_Win_sync(w), "MPI_Win_sync") }
        communicator.barrier()
        communicator.check(MPI_Win_sync(window), "MPI_Win_sync")
        if let w = other?.window { communicator.check(MPI_Win_sync(w), "MPI_Win_sync") }
    }

    /// Collective: unmaps the window. Nothing may touch its segments afterwards.
    public func free() {
        guard window != nil else {
            if communicator.mpiHandle == nil, let base = bases.first { base.deallocate(); bases = [] }
            return
        }
        communicator.check(MPI_Win_unlock_all(window), "MPI_Win_unlock_all")
        communicator.check(MPI_Win_free(&window), "MPI_Win_free")
        window = nil; bases = []
    }
}
