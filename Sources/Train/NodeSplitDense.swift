// NodeSplitDense.swift — a node's large Dense layers split by output units across its ranks (the `shared`
// reduction of GradientSync). Each rank copies the layer's input x for its samples into shared memory, local
// rank l's rows after rank l−1's. In a training forward each rank then computes the output units whose weights
// it updates, for the node's whole batch, and takes its own samples' rows of all units. In backward it copies
// its output gradient dy beside x, and after the step's fence it computes only the gradient rows of the slice it
// updates, over the node's whole batch: one GEMM whose K is the node's samples. So the rows of W (the layer's
// bulk) are read and written by the one rank that updates them; no rank writes, sums or reads another rank's
// gradient of these layers, nor packs another's rows of W for a GEMM. It pays where the weights outnumber the
// floats they are computed from, outputs × inputs > batch share × (inputs + outputs): MLP-1024's first layer
// has 802,816 weights against 115,712 floats of x and dy at 64 samples per rank.
import Distributed
import Layers
import Tensor

final class NodeSplitDense {
    /// One Dense layer split across the node.
    final class SplitLayer: DenseNodeSplit {
        let dense: Dense
        /// Its weight, then its bias (if any), in the flat vector.
        let parameters: Range<Int>
        /// The node's x [rows × inputs], y [rows × outputs] and dy [rows × outputs] in the shared window.
        var x: UnsafeMutablePointer<Float> { step & 1 == 0 ? xBuffers.0 : xBuffers.1 }
        let y: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>
        /// x alternates between two buffers, step by step: when the step leaves the publication of the parameters
        /// to the next forward, a rank may share its next x while another still computes the gradient from this
        /// one.
        private let xBuffers: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        private var step = 0
        /// The node's batch as the GEMMs see it: local ranks × the batch share (unused rows are zeros).
        let rows: Int
        /// This rank's rows.
        let mine: Range<Int>
        /// The output units this rank computes in forward: the rows of W whose first weight lies in its slice.
        let units: Range<Int>
        private let window: SharedWindow
        /// The window of the node's parameters: the forward's fences publish its writes too.
        private let parameterWindow: SharedWindow?
        /// Set by the step when it leaves the publication of the parameters to the forward's first fence.
        weak var owner: NodeSplitDense?
        /// Whether backward recorded this rank's dy this step (its x is shared by every training forward).
        var recorded = false
        /// Seconds spent sharing x, in the forward's fences and taking this rank's output rows: the exchange of
        /// data between the ranks, not computation.
        private(set) var exchangeSeconds = 0.0, fenceSeconds = 0.0

        init(dense: Dense, parameters: Range<Int>, x: UnsafeMutablePointer<Float>, nextX: UnsafeMutablePointer<Float>? = nil,
             y: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>, rows: Int, mine: Range<Int>,
             slice: Range<Int>, window: SharedWindow, parameterWindow: SharedWindow? = nil) {
            self.dense = dense; self.parameters = parameters; self.xBuffers = (x, nextX ?? x); self.y = y; self.dy = dy
            self.rows = rows; self.mine = mine; self.window = window; self.parameterWindow = parameterWindow
            // The first row of W that starts at or after `offset` (the slices partition the rows this way).
            func firstRow(atOrAfter offset: Int) -> Int {
                let d = offset - parameters.lowerBound
                return d <= 0 ? 0 : min((d + dense.inputs - 1) / dense.inputs, dense.outputs)
            }
            let first = firstRow(atOrAfter: slice.lowerBound)
            units = first ..< max(firstRow(atOrAfter: slice.upperBound), first)
        }

        func forward(input: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>) {
            precondition(batch <= mine.count, "\(dense.name): a batch of \(batch) samples on a rank whose share is \(mine.count)")
            var t0 = monotonicSeconds()
            shareInput(input, batch: batch)
            fence()
            var t1 = monotonicSeconds()
            exchangeSeconds += t1 - t0
            computeUnits()
            t0 = monotonicSeconds()
            fence()
            takeOutput(output, batch: batch)
            t1 = monotonicSeconds()
            exchangeSeconds += t1 - t0
        }

        func forwardWithoutSamples() {
            shareInput(x, batch: 0)
            fence()
            computeUnits()
            fence()
        }

        /// After the step's last use of the rows: the next step shares its x in the other buffer.
        func endStep() {
            recorded = false
            step += 1
        }

        /// This rank's rows of the node's x ← its `batch` samples, then zeros.
        func shareInput(_ input: UnsafePointer<Float>, batch: Int) {
            copyRows(input, batch, into: x, width: dense.inputs)
        }

        /// Columns `units` of the node's y, for all the node's rows. Every rank must have shared its input.
        func computeUnits() { dense.computeOutputs(units: units, x: x, batch: rows, into: y, rowStride: dense.outputs) }

        /// `output` ← this rank's `batch` rows of the node's y. Every rank must have computed its units.
        func takeOutput(_ output: UnsafeMutablePointer<Float>, batch: Int) {
            output.update(from: y + mine.lowerBound * dense.outputs, count: batch * dense.outputs)
        }

        private func fence() {
            let t0 = monotonicSeconds()
            window.fence(with: parameterWindow)
            fenceSeconds += monotonicSeconds() - t0
            owner?.publicationOwed = false
        }

        func record(outputGradient: UnsafePointer<Float>, batch: Int) {
            precondition(batch <= mine.count, "\(dense.name): a batch of \(batch) samples on a rank whose share is \(mine.count)")
            copyRows(outputGradient, batch, into: dy, width: dense.outputs)
            recorded = true
        }

        /// This rank's rows of `matrix` ← the `batch` rows of `source`, then zeros: a missing sample adds nothing.
        private func copyRows(_ source: UnsafePointer<Float>, _ batch: Int, into matrix: UnsafeMutablePointer<Float>, width: Int) {
            let start = matrix + mine.lowerBound * width
            if batch > 0 { start.update(from: source, count: batch * width) }
            (start + batch * width).update(repeating: 0, count: (mine.count - batch) * width)
        }

        /// A rank without samples this step (a last batch smaller than the ranks) recorded nothing: its rows are zeroed.
        func zeroIfUnrecorded() {
            guard !recorded else { return }
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

    let layers: [SplitLayer]
    private let window: SharedWindow
    /// True when the model's first layer with parameters is split: every rank then passes that layer's first
    /// forward fence before it reads a parameter another rank updates, and the step may leave the publication of
    /// its parameters to that fence.
    let forwardPublishes: Bool
    /// The step's parameters are not yet published: the next fence of a split layer (or `GradientSync.publish`)
    /// does it.
    var publicationOwed = false

    /// The Dense layers of `model` worth splitting across the node at `batchShare` samples per rank (none: nil);
    /// `slice` is the part of the flat vector this rank updates. Collective over `node` (its ranks share the
    /// window); every rank passes the same model and share.
    init?(model: Model, node: Communicator, batchShare: Int, slice: Range<Int>, parameterWindow: SharedWindow) {
        let chosen = model.nodes.compactMap { $0.layer as? Dense }.filter {
            $0.outputs * $0.inputs > batchShare * ($0.inputs + $0.outputs)
        }
        guard node.size > 1, !chosen.isEmpty else { return nil }
        let rows = node.size * batchShare
        func padded(_ n: Int) -> Int { (n + 15) / 16 * 16 }
        let floats = chosen.map { 2 * padded(rows * $0.inputs) + 2 * padded(rows * $0.outputs) }.reduce(0, +)
        // All in local rank 0's segment: the GEMM needs every rank's rows in one matrix.
        let window = SharedWindow(communicator: node, floats: node.rank == 0 ? floats : 0)
        self.window = window
        var next = window.segment(0)
        let mine = node.rank * batchShare ..< (node.rank + 1) * batchShare
        layers = chosen.map { dense in
            let weight = model.entry(dense.name + ".weight")!
            let count = weight.count + (dense.useBias ? dense.outputs : 0)
            precondition(!dense.useBias || model.entry(dense.name + ".bias")?.offset == weight.offset + weight.count,
                         "\(dense.name): the bias must follow the weight in the flat vector")
            let x = next, nextX = x + padded(rows * dense.inputs), y = nextX + padded(rows * dense.inputs)
            let dy = y + padded(rows * dense.outputs)
            next = dy + padded(rows * dense.outputs)
            return SplitLayer(dense: dense, parameters: weight.offset ..< weight.offset + count, x: x, nextX: nextX,
                              y: y, dy: dy, rows: rows, mine: mine, slice: slice, window: window,
                              parameterWindow: parameterWindow)
        }
        let first = model.nodes.first { !($0.layer?.parameterDecls.isEmpty ?? true) }?.layer
        forwardPublishes = first.map { f in chosen.contains { $0 === f } } ?? false
        for layer in layers {
            layer.owner = self
            layer.dense.nodeSplit = layer
        }
    }

    /// A contiguous part of a rank's slice: the parameters of one split layer, or of none.
    struct Piece {
        let range: Range<Int>
        let layer: SplitLayer?
    }

    /// `slice` cut where the split layers' parameters begin and end.
    func pieces(of slice: Range<Int>) -> [Piece] { NodeSplitDense.pieces(of: slice, cutAt: layers) }

    static func pieces(of slice: Range<Int>, cutAt layers: [SplitLayer]) -> [Piece] {
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
    func endStep() { for layer in layers { layer.endStep() } }

    /// Seconds of the layers' forwards spent exchanging data between the ranks, and of that waiting in fences.
    var exchangeSeconds: Double { layers.reduce(0) { $0 + $1.exchangeSeconds } }
    var fenceSeconds: Double { layers.reduce(0) { $0 + $1.fenceSeconds } }

    /// Collective: the layers compute their own gradients again, and the window is freed.
    func release() {
        for layer in layers { layer.dense.nodeSplit = nil }
        window.free()
    }
}
