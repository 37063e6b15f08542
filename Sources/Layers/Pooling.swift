// Pooling.swift — MaxPool2D, AvgPool2D (PyTorch semantics: padding counts as −∞ for max, as 0 included in the
// divisor for average) and global average pooling.
import Tensor

/// Shape inference shared by the windowed pools.
private func poolGeometry(_ shapes: [[Int]], kernel: Int, stride: Int, padding: Int) throws -> ConvGeometry {
    guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
    let s = shapes[0]
    guard s.count == 3 else { throw ShapeProblem("expects an image input [channels, height, width], got \(show(s))") }
    guard kernel > 0, stride > 0, padding >= 0 else { throw ShapeProblem("needs kernel and stride ≥ 1, padding ≥ 0") }
    guard 2 * padding <= kernel else { throw ShapeProblem("padding \(padding) is more than half the \(kernel)×\(kernel) window") }
    let g = ConvGeometry(channels: s[0], height: s[1], width: s[2], kernel: (kernel, kernel),
                         stride: (stride, stride), padding: (padding, padding))
    guard g.isValid else { throw ShapeProblem("a \(kernel)×\(kernel) window does not fit input \(show(s))") }
    return g
}

public final class MaxPool2D: Layer {
    public var name = "maxpool"
    public let kernel: Int, stride: Int, padding: Int
    private var g: ConvGeometry!
    /// For each output element, the flat index within its input plane of the maximum.
    private var argmax: UnsafeMutablePointer<Int32>?
    private var capacity = 0

    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }
    deinit { argmax?.deallocate() }

    public var summary: String { "MaxPool2D(\(kernel)×\(kernel), stride \(stride)\(padding > 0 ? ", pad \(padding)" : ""))" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        g = try poolGeometry(shapes, kernel: kernel, stride: stride, padding: padding)
        return [g.channels, g.outHeight, g.outWidth]
    }

    public func allocate(maxBatch: Int) {
        argmax?.deallocate()
        capacity = maxBatch * g.channels * g.outPixels
        argmax = .allocate(capacity: max(capacity, 1))
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        let planes = x[0].batch * g.channels
        let (ho, wo, h, w) = (g.outHeight, g.outWidth, g.height, g.width)
        let arg = argmax!
        if kernel == 2 && stride == 2 && padding == 0 { return forward2x2(x[0].data, y.data, planes: planes) }
        for plane in 0..<planes {
            let src = x[0].data + plane * h * w
            let dst = y.data + plane * ho * wo
            let idx = arg + plane * ho * wo
            for oy in 0..<ho {
                let y0 = oy * stride - padding
                let ylo = max(y0, 0), yhi = min(y0 + kernel, h)
                for ox in 0..<wo {
                    let x0 = ox * stride - padding
                    let xlo = max(x0, 0), xhi = min(x0 + kernel, w)
                    var best = -Float.infinity
                    var at = ylo * w + xlo
                    for iy in ylo..<yhi {
                        for ix in xlo..<xhi where src[iy * w + ix] > best {
                            best = src[iy * w + ix]; at = iy * w + ix
                        }
                    }
                    dst[oy * wo + ox] = best
                    idx[oy * wo + ox] = Int32(at)
                }
            }
        }
    }

    /// The common 2×2, stride 2 window without padding, unrolled and branch-free. Same result and the same
    /// tie-breaking as the generic loop (first maximum in row-major order).
    private func forward2x2(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int) {
        let (ho, wo, h, w) = (g.outHeight, g.outWidth, g.height, g.width)
        let arg = argmax!
        for plane in 0..<planes {
            let src = x + plane * h * w, dst = y + plane * ho * wo, idx = arg + plane * ho * wo
            for oy in 0..<ho {
                let top = src + 2 * oy * w, bottom = top + w
                let base = Int32(2 * oy * w)
                let w32 = Int32(w)
                // Data-dependent branches mispredict half the time on real images: compare with selects.
                for ox in 0..<wo {
                    let i = 2 * ox
                    let (a, b, c, d) = (top[i], top[i + 1], bottom[i], bottom[i + 1])
                    let upper = b > a ? b : a, upperAt: Int32 = b > a ? 1 : 0
                    let lower = d > c ? d : c, lowerAt: Int32 = d > c ? w32 &+ 1 : w32
                    dst[oy * wo + ox] = lower > upper ? lower : upper
                    idx[oy * wo + ox] = base &+ Int32(truncatingIfNeeded: i) &+ (lower > upper ? lowerAt : upperAt)
                }
            }
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        guard let dx0 = dx[0] else { return }
        dx0.fill(0)
        let planes = x[0].batch * g.channels
        let (outPlane, inPlane) = (g.outPixels, g.inPixels)
        let arg = argmax!
        for plane in 0..<planes {
            let src = dy.data + plane * outPlane, idx = arg + plane * outPlane
            let dst = dx0.data + plane * inPlane
            for o in 0..<outPlane { dst[Int(idx[o])] += src[o] }
        }
    }
}

public final class AvgPool2D: Layer {
    public var name = "avgpool"
    public let kernel: Int, stride: Int, padding: Int
    private var g: ConvGeometry!

    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
    }

    public var summary: String { "AvgPool2D(\(kernel)×\(kernel), stride \(stride)\(padding > 0 ? ", pad \(padding)" : ""))" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        g = try poolGeometry(shapes, kernel: kernel, stride: stride, padding: padding)
        return [g.channels, g.outHeight, g.outWidth]
    }

    /// Visits every (output index, input index) pair of every window in one plane.
    @inline(__always)
    private func forEachWindow(_ body: (Int, Int) -> Void) {
        let (ho, wo, h, w) = (g.outHeight, g.outWidth, g.height, g.width)
        for oy in 0..<ho {
            let y0 = oy * stride - padding
            for ox in 0..<wo {
                let x0 = ox * stride - padding
                for iy in max(y0, 0)..<min(y0 + kernel, h) {
                    for ix in max(x0, 0)..<min(x0 + kernel, w) { body(oy * wo + ox, iy * w + ix) }
                }
            }
        }
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        let scale = 1 / Float(kernel * kernel)   // padding included in the divisor, as PyTorch's default
        y.fill(0)
        for plane in 0..<x[0].batch * g.channels {
            let src = x[0].data + plane * g.inPixels, dst = y.data + plane * g.outPixels
            forEachWindow { o, i in dst[o] += src[i] }
            for o in 0..<g.outPixels { dst[o] *= scale }
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        guard let dx0 = dx[0] else { return }
        let scale = 1 / Float(kernel * kernel)
        dx0.fill(0)
        for plane in 0..<x[0].batch * g.channels {
            let src = dy.data + plane * g.outPixels, dst = dx0.data + plane * g.inPixels
            forEachWindow { o, i in dst[i] += src[o] * scale }
        }
    }
}

/// [C, H, W] → [C]: the mean of each channel.
public final class GlobalAvgPool: Layer {
    public var name = "gap"
    private var channels = 0, pixels = 0

    public init() {}
    public var summary: String { "GlobalAvgPool" }

    public func configure(inputs shapes: [[Int]]) throws -> [Int] {
        guard shapes.count == 1 else { throw ShapeProblem("takes one input, got \(shapes.count)") }
        guard shapes[0].count == 3 else { throw ShapeProblem("expects an image input [channels, height, width], got \(show(shapes[0]))") }
        channels = shapes[0][0]; pixels = shapes[0][1] * shapes[0][2]
        return [channels]
    }

    public func forward(_ x: [Tensor], into y: Tensor, _ context: PassContext) {
        let scale = 1 / Float(pixels)
        for plane in 0..<x[0].batch * channels {
            let src = x[0].data + plane * pixels
            var s: Float = 0
            for i in 0..<pixels { s += src[i] }
            y.data[plane] = s * scale
        }
    }

    public func backward(_ x: [Tensor], output: Tensor, outputGradient dy: Tensor,
                         inputGradients dx: [Tensor?], _ context: PassContext) {
        guard let dx0 = dx[0] else { return }
        let scale = 1 / Float(pixels)
        for plane in 0..<x[0].batch * channels {
            (dx0.data + plane * pixels).update(repeating: dy.data[plane] * scale, count: pixels)
        }
    }
}
