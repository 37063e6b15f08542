// NodeSplitDenseTests.swift — a Dense layer computed by a node as one, with two local ranks simulated in
// one process (their phases in the order the fences impose). Forward: each rank computes its units for the
// node's batch, and each must get its own samples' output, as its own forward would give. Gradients: the rows
// computed over the node's batch for a part of the flat vector must be the 1-process gradient of the whole batch
// there (one rank with fewer samples than its share, or none), and nothing outside the rows that part meets may
// be written. The slice is cut at the deferred layers' parameters.
import Distributed
import Layers
import Tensor
import Testing
@testable import Train

@Suite("Dense layers split across a node")
struct NodeSplitDenseTests {
    /// Plain memory (one process): its fences do nothing, and the tests order the ranks' phases themselves.
    let solo = SharedWindow(communicator: .solo, floats: 1)

    /// A Dense(5 outputs, 3 inputs, bias) bound to `gradient` (20 floats: 15 weights, then 5 biases).
    private func dense(values: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>) throws -> Dense {
        let layer = Dense(5)
        layer.name = "fc"
        _ = try layer.configure(inputs: [[3]])
        layer.bind(parameters: [ParameterSlot(value: values, gradient: gradient, count: 15),
                                ParameterSlot(value: values + 15, gradient: gradient + 15, count: 5)], state: [])
        return layer
    }

    @Test func rowsOverTheNodesBatchEqualTheWholeBatchGradient() throws {
        let values = FlatVector(count: 20), reference = FlatVector(count: 20), node = FlatVector(count: 20)
        for i in 0..<20 { values[i] = Float(i % 7) * 0.25 - 0.5 }
        // 5 samples: rank 0 has 3 (its whole share), rank 1 has 2 of its share of 3.
        let x: [Float] = (0..<15).map { Float(($0 * 5) % 11) * 0.1 - 0.4 }
        let dy: [Float] = (0..<25).map { Float(($0 * 3) % 13) * 0.05 - 0.3 }
        let whole = try dense(values: values.data, gradient: reference.data)
        whole.parameterGradients(weightRows: 0..<5, biasEntries: 0..<5, x: x, dy: dy, batch: 5)

        let rows = 6, share = 3
        let xNode = FlatVector(count: rows * 3), yNode = FlatVector(count: rows * 5), dyNode = FlatVector(count: rows * 5)
        xNode.fill(.nan); dyNode.fill(.nan)   // rows nobody records must be zeroed, not read as they were
        let layer = try dense(values: values.data, gradient: node.data)
        let ranks = (0..<2).map { r in
            NodeSplitDense.SplitLayer(dense: layer, parameters: 0..<20, x: xNode.data, y: yNode.data, dy: dyNode.data,
                                              rows: rows, mine: r * share ..< (r + 1) * share, slice: 0..<20, window: solo)
        }
        // As a training step does: the forward shares x, backward records dy.
        ranks[0].shareInput(x, batch: 3)
        ranks[1].shareInput(Array(x[9...]), batch: 2)
        ranks[0].record(outputGradient: dy, batch: 3)
        ranks[1].record(outputGradient: Array(dy[15...]), batch: 2)

        // Entries 4..<17: weight rows 1, 2, 3 and 4 (row 1 from its second entry on) and biases 0 and 1.
        node.fill(.infinity)
        ranks[1].computeGradients(4..<17)
        for i in 0..<20 {
            if (3..<15).contains(i) || (15..<17).contains(i) {
                #expect(abs(node[i] - reference[i]) <= 1e-6, "entry \(i): \(node[i]) against \(reference[i])")
            } else {
                #expect(node[i] == .infinity, "entry \(i) lies outside the rows of 4..<17 but was written")
            }
        }
    }

    @Test func aRankWithoutSamplesAddsNothing() throws {
        let values = FlatVector(count: 20), reference = FlatVector(count: 20), node = FlatVector(count: 20)
        for i in 0..<20 { values[i] = Float(i % 5) * 0.3 - 0.6 }
        let x: [Float] = (0..<6).map { Float($0) * 0.2 - 0.5 }
        let dy: [Float] = (0..<10).map { Float($0 % 4) * 0.1 - 0.2 }
        try dense(values: values.data, gradient: reference.data)
            .parameterGradients(weightRows: 0..<5, biasEntries: 0..<5, x: x, dy: dy, batch: 2)
        let xNode = FlatVector(count: 4 * 3), yNode = FlatVector(count: 4 * 5), dyNode = FlatVector(count: 4 * 5)
        xNode.fill(.nan); dyNode.fill(.nan)
        let layer = try dense(values: values.data, gradient: node.data)
        let ranks = (0..<2).map { r in
            NodeSplitDense.SplitLayer(dense: layer, parameters: 0..<20, x: xNode.data, y: yNode.data, dy: dyNode.data,
                                              rows: 4, mine: r * 2 ..< (r + 1) * 2, slice: 0..<20, window: solo)
        }
        ranks[0].shareInput(x, batch: 2)
        ranks[0].record(outputGradient: dy, batch: 2)
        ranks[1].shareInput(x, batch: 0)   // rank 1 had no sample this step (forwardWithoutSamples)
        ranks[1].zeroIfUnrecorded()
        ranks[0].computeGradients(0..<20)
        for i in 0..<20 { #expect(abs(node[i] - reference[i]) <= 1e-6, "entry \(i): \(node[i]) against \(reference[i])") }
    }

    @Test func aSliceIsCutAtTheSplitLayersParameters() throws {
        let values = FlatVector(count: 20), gradient = FlatVector(count: 20), rows = FlatVector(count: 8)
        let layer = try dense(values: values.data, gradient: gradient.data)
        func deferred(_ parameters: Range<Int>) -> NodeSplitDense.SplitLayer {
            NodeSplitDense.SplitLayer(dense: layer, parameters: parameters, x: rows.data, y: rows.data, dy: rows.data,
                                              rows: 1, mine: 0..<1, slice: 0..<100, window: solo)
        }
        let a = deferred(10..<30), b = deferred(50..<70)
        func cut(_ slice: Range<Int>) -> [String] {
            NodeSplitDense.pieces(of: slice, cutAt: [b, a]).map {
                "\($0.range)" + ($0.layer === a ? " a" : $0.layer === b ? " b" : "")
            }
        }
        #expect(cut(0..<100) == ["0..<10", "10..<30 a", "30..<50", "50..<70 b", "70..<100"])
        #expect(cut(20..<60) == ["20..<30 a", "30..<50", "50..<60 b"])
        #expect(cut(30..<50) == ["30..<50"])
        #expect(cut(55..<65) == ["55..<65 b"])
    }

    @Test func eachRankGetsItsOwnOutputFromTheNodesUnits() throws {
        let values = FlatVector(count: 20), gradient = FlatVector(count: 20)
        for i in 0..<20 { values[i] = Float(i % 9) * 0.2 - 0.7 }
        let layer = try dense(values: values.data, gradient: gradient.data)
        let x: [Float] = (0..<15).map { Float(($0 * 7) % 10) * 0.1 - 0.3 }   // 5 samples: 3 on rank 0, 2 on rank 1
        let expected = FlatVector(count: 25)
        layer.computeOutputs(units: 0..<5, x: x, batch: 5, into: expected.data, rowStride: 5)
        let xNode = FlatVector(count: 6 * 3), yNode = FlatVector(count: 6 * 5), dyNode = FlatVector(count: 6 * 5)
        xNode.fill(.nan); yNode.fill(.nan)
        // Rank 0 updates entries 0..<10 (weight rows 0-3 start there), rank 1 entries 10..<20 (row 4 and the bias).
        let ranks = [0..<10, 10..<20].enumerated().map { r, slice in
            NodeSplitDense.SplitLayer(dense: layer, parameters: 0..<20, x: xNode.data, y: yNode.data, dy: dyNode.data,
                                              rows: 6, mine: r * 3 ..< (r + 1) * 3, slice: slice, window: solo)
        }
        #expect(ranks[0].units == 0..<4 && ranks[1].units == 4..<5)
        ranks[0].shareInput(x, batch: 3)
        ranks[1].shareInput(Array(x[9...]), batch: 2)
        for rank in ranks { rank.computeUnits() }
        let out0 = FlatVector(count: 15), out1 = FlatVector(count: 10)
        ranks[0].takeOutput(out0.data, batch: 3)
        ranks[1].takeOutput(out1.data, batch: 2)
        for i in 0..<15 { #expect(abs(out0[i] - expected[i]) <= 1e-6, "rank 0, entry \(i): \(out0[i]) against \(expected[i])") }
        for i in 0..<10 { #expect(abs(out1[i] - expected[15 + i]) <= 1e-6, "rank 1, entry \(i): \(out1[i]) against \(expected[15 + i])") }
    }
}
