// KernelBenchmark.swift — GFLOP/s of Descent's BLAS-backed layers at the shapes of the seed experiments
// (MLP 784-1024-10 and LeNet-5, batch 128), forward and forward+backward, next to cblas_sgemm 1024³ measured in
// the same run at the same thread count: the peak the layers are judged against.
import Layers
import Tensor

struct KernelBenchmark {
    let reps: Int
    let batch = 128

    struct Row { var name: String; var flops: Double; var forward: Double; var total: Double }

    /// One layer in a harness of its own (same code path as inside a model).
    final class Bound {
        let layer: Layer
        let x: Tensor, y: Tensor, dy: Tensor, dx: Tensor
        let parameters: FlatVector, gradients: FlatVector
        let needsInputGradient: Bool

        init(_ layer: Layer, input: [Int], batch: Int, needsInputGradient: Bool) throws {
            self.layer = layer
            self.needsInputGradient = needsInputGradient
            let out = try layer.configure(inputs: [input])
            let decls = layer.parameterDecls
            parameters = FlatVector(count: decls.map(\.count).reduce(0, +))
            gradients = FlatVector(count: parameters.count)
            var offset = 0, slots: [ParameterSlot] = []
            for d in decls {
                slots.append(ParameterSlot(value: parameters.data + offset, gradient: gradients.data + offset, count: d.count))
                offset += d.count
            }
            layer.bind(parameters: slots, state: [])
            layer.allocate(maxBatch: batch)
            x = Tensor(shape: [batch] + input); y = Tensor(shape: [batch] + out)
            dy = Tensor(shape: [batch] + out); dx = Tensor(shape: [batch] + input)
            let r = RandomStream(seed: 1, name: "bench")
            for i in 0..<x.count { x[i] = r.normal(UInt64(i)) }
            for i in 0..<parameters.count { parameters[i] = 0.05 * r.normal(UInt64(i + x.count)) }
            for i in 0..<dy.count { dy[i] = r.normal(UInt64(i + 7 * x.count)) }
        }

        func forward() { layer.forward([x], into: y, PassContext(training: true)) }
        func backward() {
            layer.backward([x], output: y, outputGradient: dy, inputGradients: [needsInputGradient ? dx : nil], PassContext(training: true))
        }
    }

    func measureLayer(_ name: String, _ layer: Layer, input: [Int], forwardFlops: Double, needsInputGradient: Bool) throws -> Row {
        let b = try Bound(layer, input: input, batch: batch, needsInputGradient: needsInputGradient)
        let fwd = medianSeconds(reps: reps) { b.forward() }
        let both = medianSeconds(reps: reps) { b.forward(); b.backward() }
        // Backward = weight gradient (same FLOPs as the forward) + input gradient (same again) when needed.
        let total = forwardFlops * (needsInputGradient ? 3 : 2)
        return Row(name: name, flops: total, forward: forwardFlops / fwd, total: total / both)
    }

    func measureModel(_ name: String, _ spec: ModelSpec, input: [Int], forwardFlops: Double) throws -> Row {
        let model = try spec.build(input: input, classes: 10, maxBatch: batch)
        model.initialize(seed: 0, spec.initializer, gain: spec.gain)
        let r = RandomStream(seed: 2, name: "bench/x")
        for i in 0..<model.input.count { model.input[i] = r.uniform(UInt64(i)) }
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)   // Target.labels keeps a pointer
        defer { labels.deallocate() }
        for i in 0..<batch { labels[i] = Int32(i % 10) }
        let loss = SoftmaxCrossEntropy()
        let ctx = PassContext(training: true)
        let fwd = medianSeconds(reps: reps) { model.forward(batch: batch, ctx) }
        let both = medianSeconds(reps: reps) {
            let out = model.forward(batch: batch, ctx)
            _ = loss.evaluate(out, .labels(labels), gradient: model.outputGradient, scale: 1 / Float(batch))
            model.backward(ctx)
        }
        return Row(name: name, flops: forwardFlops * 3, forward: forwardFlops / fwd, total: forwardFlops * 3 / both)
    }

    func sgemmPeak() -> Double {
        let n = 1024
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        let t = medianSeconds(reps: max(5, reps / 2)) { BLAS.gemm(a, b, into: c) }
        return 2 * Double(n * n * n) / t
    }

    func run() -> String {
        var out = ["# descent-bench kernels: GFLOP/s, batch \(batch), median of \(reps) runs",
                   "", "OpenBLAS: \(BLAS.configuration)", ""]
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            let peak = sgemmPeak()
            var rows: [Row] = []
            do {
                let n = Double(batch)
                rows.append(try measureLayer("Dense 784→1024 (first layer, no dx)", Dense(1024), input: [784], forwardFlops: 2 * n * 784 * 1024, needsInputGradient: false))
                rows.append(try measureLayer("Dense 1024→10", Dense(10), input: [1024], forwardFlops: 2 * n * 1024 * 10, needsInputGradient: true))
                rows.append(try measureLayer("Conv2D 1→6 5×5 pad 2, 28×28 (first layer, no dx)", Conv2D(6, kernel: 5, padding: 2), input: [1, 28, 28], forwardFlops: 2 * n * 6 * 784 * 25, needsInputGradient: false))
                rows.append(try measureLayer("Conv2D 6→16 5×5, 14×14", Conv2D(16, kernel: 5), input: [6, 14, 14], forwardFlops: 2 * n * 16 * 100 * 150, needsInputGradient: true))
                rows.append(try measureLayer("Dense 400→120", Dense(120), input: [400], forwardFlops: 2 * n * 400 * 120, needsInputGradient: true))
                let mlpFlops = 2 * n * (784 * 1024 + 1024 * 10)
                rows.append(try measureModel("MLP 784-1024-10 step (fwd+loss+bwd)", ModelSpec(.mlp(hidden: [1024])), input: [1, 28, 28], forwardFlops: mlpFlops))
                let lenetFlops = 2 * n * (6 * 784 * 25 + 16 * 100 * 150 + 400 * 120 + 120 * 84 + 84 * 10)
                rows.append(try measureModel("LeNet-5 step (fwd+loss+bwd)", ModelSpec(.lenet5), input: [1, 28, 28], forwardFlops: lenetFlops))
            } catch {
                return "descent-bench: \(error)"
            }
            out.append("## \(threads) OpenBLAS thread\(threads > 1 ? "s" : "")")
            out.append("")
            out.append("| shape | MFLOP fwd+bwd | forward GFLOP/s | fwd+bwd GFLOP/s | fwd+bwd / sgemm peak |")
            out.append("|---|---:|---:|---:|---:|")
            out.append("| cblas_sgemm 1024×1024×1024 | \(fixed(2 * 1024 * 1024 * 1024 / 1e6, 0)) | \(fixed(peak / 1e9)) | | 100 % |")
            for r in rows {
                out.append("| \(r.name) | \(fixed(r.flops / 1e6, 1)) | \(fixed(r.forward / 1e9)) | \(fixed(r.total / 1e9)) | \(fixed(100 * r.total / peak, 0)) % |")
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}
