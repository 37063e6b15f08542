// ReportError.swift — the one error the Report module throws: a message naming the file (and line) and the problem.
/// A problem reading a run's metrics or writing its figures, e.g.
/// "runs/x/metrics.csv line 4: expected 9 columns, found 7".
public struct ReportError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
