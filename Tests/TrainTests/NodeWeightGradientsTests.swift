// NodeWeightGradientsTests.swift — a Dense layer's gradient computed once for a node: two local ranks record their
// samples' x and dy (one rank fewer samples than its share), and the rows computed over the node's batch for a
// part of the flat vector must be the 1-process gradient of the whole batch there, and nothing outside the rows
// that part meets may be written. The slice is cut at the deferred layers' parameters.
import Layers
import Tensor
import Testing
@testable import Train

@Suite("Node weight gradients")
struct NodeWeightGradientsTests {
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
        let xNode = FlatVector(count: rows * 3), dyNode = FlatVector(count: rows * 5)
        xNode.fill(.nan); dyNode.fill(.nan)   // rows nobody records must be zeroed, not read as they were
        let layer = try dense(values: values.data, gradient: node.data)
        let ranks = (0..<2).map { r in
            NodeWeightGradients.DeferredLayer(dense: layer, parameters: 0..<20, x: xNode.data, dy: dyNode.data,
                                              rows: rows, mine: r * share ..< (r + 1) * share)
        }
        ranks[0].record(input: x, outputGradient: dy, batch: 3)
        ranks[1].record(input: Array(x[9...]), outputGradient: Array(dy[15...]), batch: 2)

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
        let xNode = FlatVector(count: 4 * 3), dyNode = FlatVector(count: 4 * 5)
        xNode.fill(.nan); dyNode.fill(.nan)
        let layer = try dense(values: values.data, gradient: node.data)
        let ranks = (0..<2).map { r in
            NodeWeightGradients.DeferredLayer(dense: layer, parameters: 0..<20, x: xNode.data, dy: dyNode.data,
                                              rows: 4, mine: r * 2 ..< (r + 1) * 2)
        }
        ranks[0].record(input: x, outputGradient: dy, batch: 2)
        ranks[1].zeroIfUnrecorded()   // rank 1 had no sample this step
        ranks[0].computeGradients(0..<20)
        for i in 0..<20 { #expect(abs(node[i] - reference[i]) <= 1e-6, "entry \(i): \(node[i]) against \(reference[i])") }
    }

    @Test func aSliceIsCutAtTheDeferredLayersParameters() throws {
        let values = FlatVector(count: 20), gradient = FlatVector(count: 20), rows = FlatVector(count: 8)
        let layer = try dense(values: values.data, gradient: gradient.data)
        func deferred(_ parameters: Range<Int>) -> NodeWeightGradients.DeferredLayer {
            NodeWeightGradients.DeferredLayer(dense: layer, parameters: parameters, x: rows.data, dy: rows.data, rows: 1, mine: 0..<1)
        }
        let a = deferred(10..<30), b = deferred(50..<70)
        func cut(_ slice: Range<Int>) -> [String] {
            NodeWeightGradients.pieces(of: slice, cutAt: [b, a]).map {
                "\($0.range)" + ($0.layer === a ? " a" : $0.layer === b ? " b" : "")
            }
        }
        #expect(cut(0..<100) == ["0..<10", "10..<30 a", "30..<50", "50..<70 b", "70..<100"])
        #expect(cut(20..<60) == ["20..<30 a", "30..<50", "50..<60 b"])
        #expect(cut(30..<50) == ["30..<50"])
        #expect(cut(55..<65) == ["55..<65 b"])
    }
}
