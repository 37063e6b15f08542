// CheckpointValidation.swift — the structure of a checkpoint read back, which no checksum covers: the layout
// tables against the flat vectors, the momentum, the input and its normalisation, the training state and the
// metrics. A damaged file must read as corrupt (and resume fall back to an older checkpoint), never trap later.
import Layers

extension CheckpointContents {
    /// What is inconsistent, as "<dataset or attribute>: <detail>"; nil when nothing is.
    func structureProblem() -> String? {
        layoutProblem(layout, "/model/layout", covering: parameters.count, "/params")
            ?? layoutProblem(bufferLayout, "/model/buffer_layout", covering: buffers.count, "/buffers")
            ?? momentumProblem() ?? inputProblem() ?? stateProblem() ?? metricsProblem()
    }

    private func momentumProblem() -> String? {
        guard let m = momentum, m.count != parameters.count else { return nil }
        return "/optimizer/momentum holds \(m.count) values but /params \(parameters.count)"
    }

    private func inputProblem() -> String? {
        guard let channels = inputShape.first, inputShape.allSatisfy({ $0 > 0 }) else {
            return "/model/input_shape is \(inputShape)"
        }
        guard classes > 0 else { return "/model@classes is \(classes)" }
        guard shift.count == channels, scale.count == channels else {
            return "/data/shift and /data/scale hold \(shift.count) and \(scale.count) values for \(channels) channel(s)"
        }
        return nil
    }

    private func stateProblem() -> String? {
        let s = state
        guard s.epoch >= 0, s.stepInEpoch >= 0, s.globalStep >= 0, s.worldSize >= 1, s.requeueCount >= 0 else {
            return "/state: epoch \(s.epoch), step_in_epoch \(s.stepInEpoch), global_step \(s.globalStep), world_size \(s.worldSize), requeue_count \(s.requeueCount)"
        }
        guard s.batchSums[0].isFinite, s.batchSums.dropFirst().allSatisfy(isCount) else {
            return "/state: batch sums \(s.batchSums) (expected a finite loss and whole counts ≥ 0)"
        }
        return nil
    }

    /// Every row's epoch and step (the first two columns) are whole numbers ≥ 0.
    private func metricsProblem() -> String? {
        guard !metrics.isEmpty else { return nil }
        guard metricsColumns.starts(with: ["epoch", "step"]) else { return "/metrics: columns \(metricsColumns)" }
        for (i, row) in metrics.enumerated() where !row.prefix(2).allSatisfy(isCount) {
            return "/metrics: row \(i + 1) has epoch \(row[0]) and step \(row[1])"
        }
        return nil
    }
}

/// A layout table must describe its flat vector exactly: tensors one after the other from offset 0, to its end.
private func layoutProblem(_ layout: [LayoutEntry], _ table: String, covering total: Int, _ vector: String) -> String? {
    var next = 0
    for e in layout {
        guard e.offset == next else {
            return "\(table): \(e.name) starts at \(e.offset), expected \(next) (right after the tensor before it)"
        }
        guard let count = elementCount(e.shape), count <= total - next else {
            return "\(table): \(e.name) of shape \(e.shape) at \(e.offset) does not fit in \(vector) (\(total) values)"
        }
        next += count
    }
    return next == total ? nil : "\(table) describes \(next) values but \(vector) holds \(total)"
}

/// The number of elements of `shape`; nil for a negative size or an overflow.
private func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = product
    }
    return n
}

/// A whole number ≥ 0 that converts to Int exactly.
private func isCount(_ x: Double) -> Bool { x >= 0 && x <= 9_007_199_254_740_992 && x.rounded() == x }
