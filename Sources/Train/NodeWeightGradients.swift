// NodeWeightGradients.swift — the gradients of a node's large Dense layers, computed once for the whole node
// (the `shared` reduction of GradientSync). During backward each rank copies the layer's input x and output
// gradient dy for its samples into shared memory, local rank l's rows after rank l−1's. After the step's fence a
// rank computes only the gradient rows of the slice it updates, over the node's whole batch: one GEMM whose K is
// the node's samples. No rank then writes, sums or reads another rank's gradient of these layers, and the update
// reads one gradient where it read one per local rank. It pays where the weights outnumber the floats they are
// computed from, outputs × inputs > batch share × (inputs + outputs): MLP-1024's first layer has 802,816
// weights against 115,712 floats of x and dy at 64 samples per rank.
import Distributed
import Layers
import Tensor

final class NodeWeightGradients {
    /// One Dense layer whose parameter gradients the node computes.
    final class DeferredLayer: DenseGradientDeferral {
        let dense: Dense
        /// Its weight, then its bias (if any), in the flat vector.
        let parameters: Range<Int>
        /// The node's x [rows × inputs] and dy [rows × outputs] in the shared window.
        let x: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>
        /// The node's batch as the GEMM sees it: local ranks × the batch share (unused rows are zeros).
        let rows: Int
        /// This rank's rows.
        let mine: Range<Int>
        /// Whether backward recorded this rank's samples this step.
        var recorded = false

        init(dense: Dense, parameters: Range<Int>, x: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
             rows: Int, mine: Range<Int>) {
            self.dense = dense; self.parameters = parameters; self.x = x; self.dy = dy; self.rows = rows; self.mine = mine
        }

        func record(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int) {
            precondition(batch <= mine.count, "\(dense.name): a batch of \(batch) samples on a rank whose share is \(mine.count)")
            copyRows(input, batch, into: x, width: dense.inputs)
            copyRows(outputGradient, batch, into: dy, width: dense.outputs)
            recorded = true
        }

        /// This rank's rows of `matrix` ← the `batch` rows of `source`, then zeros: a missing sample adds nothing.
        private func copyRows(_ source: UnsafePointer<Float>, _ batch: Int, into matrix: UnsafeMutablePointer<Float>, width: Int) {
            let start = matrix + mine.lowerBound * width
            start.update(from: source, count: batch * width)
            (start + batch * width).update(repeating: 0, count: (mine.count - batch) * width)
        }

        /// A rank without samples this step (a last batch smaller than the ranks) recorded nothing: its rows are zeroed.
        func zeroIfUnrecorded() {
            guard !recorded else { return }
            (x + mine.lowerBound * dense.inputs).update(repeating: 0, count: mine.count * dense.inputs)
            (dy + mine.lowerBound * dense.outputs).update(repeating: 0, count: mine.count * dense.outputs)
        }

        /// Writes the node's gradient of every weight row and bias entry that meets `range` (within `parameters`)
        /// into this rank's gradient buffer. Collective in effect: every local rank must have recorded (or zeroed)
        /// its rows, and a fence passed since.
        func computeGradients(_ range: Range<Int>) {
            let inputs = dense.inputs, weights = dense.outputs * inputs
            let lo = range.lowerBound - parameters.lowerBound, hi = range.upperBound - parameters.lowerBound
            let weightRows = lo < min(hi, weights) ? lo / inputs ..< (min(hi, weights) + inputs - 1) / inputs : 0..<0
            let biasEntries = max(lo - weights, 0) ..< max(hi - weights, 0)
            dense.parameterGradients(weightRows: weightRows, biasEntries: biasEntries, x: x, dy: dy, batch: rows)
        }
    }

    let layers: [DeferredLayer]
    private let window: SharedWindow

    /// The Dense layers of `model` worth computing once per node at `batchShare` samples per rank (none: nil).
    /// Collective over `node` (its ranks share the window); every rank passes the same model and share.
    init?(model: Model, node: Communicator, batchShare: Int) {
        let chosen = model.nodes.compactMap { $0.layer as? Dense }.filter {
            $0.outputs * $0.inputs > batchShare * ($0.inputs + $0.outputs)
        }
        guard node.size > 1, !chosen.isEmpty else { return nil }
        let rows = node.size * batchShare
        func padded(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        let floats = chosen.map { padded(rows * $0.inputs) + padded(rows * $0.outputs) }.reduce(0, +)
        // All in local rank 0's segment: the GEMM needs every rank's rows in one matrix.
        window = SharedWindow(communicator: node, floats: node.rank == 0 ? floats : 0)
        var next = window.segment(0)
        let mine = node.rank * batchShare ..< (node.rank + 1) * batchShare
        layers = chosen.map { dense in
            let weight = model.entry(dense.name + ".weight")!
            let count = weight.count + (dense.useBias ? dense.outputs : 0)
            precondition(!dense.useBias || model.entry(dense.name + ".bias")?.offset == weight.offset + weight.count,
                         "\(dense.name): the bias must follow the weight in the flat vector")
            let x = next, dy = next + padded(rows * dense.inputs)
            next = dy + padded(rows * dense.outputs)
            return DeferredLayer(dense: dense, parameters: weight.offset ..< weight.offset + count, x: x, dy: dy,
                                 rows: rows, mine: mine)
        }
        for layer in layers { layer.dense.deferral = layer }
    }

    /// A contiguous part of a rank's slice: the parameters of one deferred layer, or of none.
    struct Piece {
        let range: Range<Int>
        let layer: DeferredLayer?
    }

    /// `slice` cut where the deferred layers' parameters begin and end.
    func pieces(of slice: Range<Int>) -> [Piece] { NodeWeightGradients.pieces(of: slice, cutAt: layers) }

    static func pieces(of slice: Range<Int>, cutAt layers: [DeferredLayer]) -> [Piece] {
        var out: [Piece] = [], at = slice.lowerBound
        for layer in layers.sorted(by: { $0.parameters.lowerBound < $1.parameters.lowerBound }) {
            let part = layer.parameters.clamped(to: slice)
            guard !part.isEmpty else { continue }
            if at < part.lowerBound { out.append(Piece(range: at ..< part.lowerBound, layer: nil)) }
            out.append(Piece(range: part, layer: layer))
            at = part.upperBound
        }
        if at < slice.upperBound { out.append(Piece(range: at ..< slice.upperBound, layer: nil)) }
        return out
    }

    /// Before a fence: zeroes the rows of the layers (whose parameters lie in `range`) that this rank did not record.
    func zeroUnrecorded(in range: Range<Int>) {
        for layer in layers where range.overlaps(layer.parameters) { layer.zeroIfUnrecorded() }
    }

    /// After the step's last use of the rows.
    func endStep() { for layer in layers { layer.recorded = false } }

    /// Collective: the layers compute their own gradients again, and the window is freed.
    func release() {
        for layer in layers { layer.dense.deferral = nil }
        window.free()
    }
}
