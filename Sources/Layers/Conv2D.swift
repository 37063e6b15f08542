// Conv2D.swift — 2-D convolution (cross-correlation, as PyTorch) as im2col + sgemm over chunks of the batch.
//
// Forward:   col = im2col(x)                 K × (N·P)      K = Cin·kh·kw, P = Ho·Wo
//            tmp = W[Cout×K] · col           Cout × (N·P)
//            y[n, c, p] = tmp[c, n·P + p] + b[c]
// Backward:  dtmp = dy permuted to Cout × (N·P)
//            dW = dtmp · colᵀ,  db = Σ dtmp,  dcol = Wᵀ · dtmp,  dx = col2im(dcol)
// The batch is processed in chunks of samples whose column matrix fits a core's L2 cache (`chunkBytes`), so each
// GEMM reads its columns where im2col has just written them: LeNet-5's first layer has a 10 MB column matrix at
// batch 128, and with one GEMM over it an epoch took 1.4× as long (Intel Xeon, 2 MB L2). The columns of the whole batch
// are kept for the backward pass up to `maxColumnBytes`; above it (large images, U-Net tiles) backward computes
// each chunk's columns again.
import Tensor

public final class Conv2D: Layer {
    public var name = "conv"
    public let outChannels: Int
    public let kernel: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let useBias: Bool
    /// Samples per GEMM: as many as have a column matrix of at most this many bytes (at least one).
    public let chunkBytes: Int
    /// Upper bound on the columns kept from forward for backward, in bytes.
    public let maxColumnBytes: Int

    public private(set) var geometry: ConvGeometry!
    private var weight: ParameterSlot!   // Cout × Cin × kh × kw
    private var bias: ParameterSlot?
    private var col: Tensor!              // per chunk, K × (chunk·P); for every chunk of the batch when they are kept
    private var tmp: Tensor!              // Cout × (chunk·P)
    private var chunk = 1
    /// Samples whose columns `col` holds: the largest batch, or one chunk.
    private var keptSamples = 1
    /// True when `col` still holds im2col of the whole batch from the last forward: the backward then skips
    /// recomputing it.
    private var columnsHoldBatch = false

    public init(_ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                chunkBytes: Int = 256 << 10, maxColumnBytes: Int = 64 << 20) {
        self.outChannels = outChannels
        self.chunkBytes = chunkBytes
        self.maxColumnBytes = maxColumnBytes
        self.kernel = (kernel, kernel); self.stride = (stride, stride); self.padding = (padding, padding)
        self.useBias = bias
    }

    public var summary: String {
        "Conv2D(\(outChannels), \(kernel.0)×\(kernel.1), stride \(stride.0), pad \(padding.0)\(useBias ? "" : ", no bias"))"
    }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        let s = shapes[0]
        guard s.count == 3 else { throw ShapeProblem("expects an image input [channels, height, width], got \(show(s))") }
        guard outChannels > 0, kernel.0 > 0, stride.0 > 0, padding.0 >= 0 else {
            throw ShapeProblem("needs channels, kernel and stride ≥ 1 and padding ≥ 0")
        }
        let g = ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: kernel, stride: stride, padding: padding)
        guard g.isValid else {
            throw ShapeProblem("a \(kernel.0)×\(kernel.1) kernel with padding \(padding.0) does not fit input \(show(s))")
        }
        geometry = g
        return [outChannels, g.outHeight, g.outWidth]
    }

    public var parameterDecls: [ParameterDecl] {
        let g = geometry!
        return [ParameterDecl("weight", [outChannels, g.channels, kernel.0, kernel.1],
                              .weight(fanIn: g.fieldSize, fanOut: outChannels * kernel.0 * kernel.1))]
            + (useBias ? [ParameterDecl("bias", [outChannels], .zeros)] : [])
    }

    public func bind(parameters: [ParameterSlot], state: [UnsafeMutablePointer<Float>]) {
        weight = parameters[0]
        bias = useBias ? parameters[1] : nil
    }

    public func allocate(maxBatch: Int) {
        let g = geometry!
        let perSample = g.fieldSize * g.outPixels * MemoryLayout<Float>.stride
        chunk = max(1, min(maxBatch, chunkBytes / max(perSample, 1)))
        keptSamples = maxBatch * perSample <= maxColumnBytes ? maxBatch : chunk
        col = Tensor(shape: [g.fieldSize, keptSamples * g.outPixels])
        tmp = Tensor(shape: [outChannels, chunk * g.outPixels])
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        let g = geometry!, P = g.outPixels, inSize = g.channels * g.inPixels
        var start = 0
        while start < x[0].batch {
            let n = min(chunk, x[0].batch - start)
            let columns = chunkColumns(start)
            Im2Col.im2col(x[0].data + start * inSize, batch: n, g, into: columns)
            BLAS.gemm(m: outChannels, n: n * P, k: g.fieldSize,
                      a: weight.value, lda: g.fieldSize, b: columns, ldb: n * P, c: tmp.data, ldc: n * P)
            // Permute Cout × (n·P) into n × Cout × P, adding the bias.
            for s in 0..<n {
                for c in 0..<outChannels {
                    let src = tmp.data + c * n * P + s * P
                    let dst = y.data + ((start + s) * outChannels + c) * P
                    let b = bias?.value[c] ?? 0
                    for p in 0..<P { dst[p] = src[p] + b }
                }
            }
            start += n
        }
        columnsHoldBatch = x[0].batch <= keptSamples
    }

    /// Where the columns of the chunk starting at sample `start` are: in its own place when the batch's are kept.
    private func chunkColumns(_ start: Int) -> UnsafeMutablePointer<Float> {
        col.data + (keptSamples > chunk ? start * geometry.fieldSize * geometry.outPixels : 0)
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        let g = geometry!, P = g.outPixels, inSize = g.channels * g.inPixels
        if let bias { bias.gradient.update(repeating: 0, count: outChannels) }
        var start = 0
        while start < x[0].batch {
            let n = min(chunk, x[0].batch - start)
            // dtmp: n × Cout × P → Cout × (n·P), accumulating the bias gradient on the way.
            for s in 0..<n {
                for c in 0..<outChannels {
                    let src = dy.data + ((start + s) * outChannels + c) * P
                    let dst = tmp.data + c * n * P + s * P
                    var sum: Float = 0
                    for p in 0..<P { dst[p] = src[p]; sum += src[p] }
                    if let bias { bias.gradient[c] += sum }
                }
            }
            let columns = chunkColumns(start)
            if !columnsHoldBatch { Im2Col.im2col(x[0].data + start * inSize, batch: n, g, into: columns) }
            // dW[Cout×K] (+)= dtmp[Cout×nP] · col[K×nP]ᵀ
            BLAS.gemm(transB: true, m: outChannels, n: g.fieldSize, k: n * P,
                      a: tmp.data, lda: n * P, b: columns, ldb: n * P,
                      beta: start == 0 ? 0 : 1, c: weight.gradient, ldc: g.fieldSize)
            if let dx0 = dx[0] {
                // dcol[K×nP] = W[Cout×K]ᵀ · dtmp[Cout×nP]; this chunk's columns are used up, reuse their place.
                BLAS.gemm(transA: true, m: g.fieldSize, n: n * P, k: outChannels,
                          a: weight.value, lda: g.fieldSize, b: tmp.data, ldb: n * P, c: columns, ldc: n * P)
                Im2Col.col2im(columns, batch: n, g, into: dx0.data + start * inSize)
            }
            start += n
        }
        columnsHoldBatch = false
    }
}
