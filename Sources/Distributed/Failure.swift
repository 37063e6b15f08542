// Failure.swift — errors that every rank must learn about. At a synchronisation point (after each rank has
// read its data, say), ranks agree on whether any of them failed; if one did, every rank throws the same
// `JobFailure` carrying the lowest failing rank's message, so the job prints one line and exits cleanly
// instead of aborting. A failure on one rank inside the training loop, or half-way through a collective write
// (CollectiveBroken), aborts the job instead (MPIRuntime.fail).

/// A failure agreed by every rank of a communicator.
public struct JobFailure: Error, CustomStringConvertible {
    /// The message of the lowest failing rank, prefixed with "rank R: " when the job has several ranks.
    public let message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// An error on one rank in the middle of a sequence of collective calls (a parallel HDF5 write): the other
/// ranks wait in a collective this rank will never make, so the ranks cannot agree on it; the job must abort
/// (MPIRuntime.fail). `agreeing` passes it on without agreeing.
public struct CollectiveBroken: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Communicator {
    /// Runs `body` on every rank and agrees on its outcome: returns its value when it succeeded everywhere,
    /// throws the lowest failing rank's error (as a JobFailure when several ranks) everywhere otherwise.
    public func agreeing<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, Error>
        do { result = .success(try body()) } catch let broken as CollectiveBroken { throw broken } catch { result = .failure(error) }
        guard size > 1 else { return try result.get() }
        let mine: Int
        if case .failure = result { mine = rank } else { mine = size }
        let first = agree(mine, .min)
        if first == size { return try result.get() }
        var message = ""
        if case .failure(let error) = result { message = "\(error)" }
        throw JobFailure(message: "rank \(first): " + broadcast(message, root: first))
    }
}
