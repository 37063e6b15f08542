// Im2Col.swift — im2col and col2im for a whole batch, so that a convolution is one GEMM over the batch.
//
// Layout of the column matrix: rows are (channel, ky, kx) — the K = C·kh·kw entries of a receptive field —
// and columns are (sample, oy, ox) over the whole batch, so `col` is K × (N·Ho·Wo), row-major:
//     col[(c·kh + ky)·kw + kx][(n·Ho + oy)·Wo + ox] = x[n][c][oy·s − p + ky][ox·s − p + kx]   (0 outside)
// The forward is then W[Cout×K] · col, and both backward products (W-gradient and col-gradient) are single
// GEMMs against the same matrix.

/// Geometry of a 2-D convolution or pooling window over an N×C×H×W input.
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.channels = channels; self.height = height; self.width = width
        (kernelH, kernelW) = kernel; (strideH, strideW) = stride; (padH, padW) = padding
    }

    public var outHeight: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    public var outWidth: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    /// Rows of the column matrix: the size of one receptive field.
    public var fieldSize: Int { channels * kernelH * kernelW }
    public var outPixels: Int { outHeight * outWidth }
    public var inPixels: Int { height * width }
    /// True when the window fits at least once.
    public var isValid: Bool { height + 2 * padH >= kernelH && width + 2 * padW >= kernelW && kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0 }
}

public enum Im2Col {
    /// Fills `col` (fieldSize × (batch·outPixels)) from `x` (batch × C × H × W).
    public static func im2col(_ x: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
        let (ho, wo) = (g.outHeight, g.outWidth)
        let columns = batch * ho * wo
        for c in 0..<g.channels {
            for ky in 0..<g.kernelH {
                // The output rows whose input row lies inside the image; the rest are padding, zeroed in one go.
                let (ylo, yhi) = validRange(count: ho, width: g.height, start: ky - g.padH, stride: g.strideH)
                for kx in 0..<g.kernelW {
                    let row = col + ((c * g.kernelH + ky) * g.kernelW + kx) * columns
                    // The valid output columns depend only on kx: hoisted out of the row loops, which are short.
                    let start = kx - g.padW
                    let (lo, hi) = validRange(count: wo, width: g.width, start: start, stride: g.strideW)
                    for n in 0..<batch {
                        let plane = x + (n * g.channels + c) * g.inPixels
                        let out = row + n * ho * wo
                        out.update(repeating: 0, count: ylo * wo)
                        for oy in ylo..<yhi {
                            let src = plane + (oy * g.strideH - g.padH + ky) * g.width + start
                            let dst = out + oy * wo
                            if lo > 0 { dst.update(repeating: 0, count: lo) }
                            if g.strideW == 1 {
                                (dst + lo).update(from: src + lo, count: hi - lo)   // memmove: short rows copy fastest
                            } else {
                                for o in lo..<hi { dst[o] = src[o * g.strideW] }
                            }
                            if hi < wo { (dst + hi).update(repeating: 0, count: wo - hi) }
                        }
                        (out + yhi * wo).update(repeating: 0, count: (ho - yhi) * wo)
                    }
                }
            }
        }
    }

    /// Adds the columns back into `dx` (batch × C × H × W), which it first zeroes: the adjoint of `im2col`.
    public static func col2im(_ col: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let (ho, wo) = (g.outHeight, g.outWidth)
        let columns = batch * ho * wo
        dx.update(repeating: 0, count: batch * g.channels * g.inPixels)
        for c in 0..<g.channels {
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let row = col + ((c * g.kernelH + ky) * g.kernelW + kx) * columns
                    let start = kx - g.padW
                    let (lo, hi) = validRange(count: wo, width: g.width, start: start, stride: g.strideW)
                    for n in 0..<batch {
                        let plane = dx + (n * g.channels + c) * g.inPixels
                        let out = row + n * ho * wo
                        for oy in 0..<ho {
                            let iy = oy * g.strideH - g.padH + ky
                            if iy < 0 || iy >= g.height { continue }
                            let src = out + oy * wo
                            let dst = plane + iy * g.width + start
                            if g.strideW == 1 {
                                for o in lo..<hi { dst[o] += src[o] }
                            } else {
                                for o in lo..<hi { dst[o * g.strideW] += src[o] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The output positions o in [lo, hi) whose input index start + o·stride lies in 0..<width.
    @inline(__always)
    private static func validRange(count: Int, width: Int, start: Int, stride: Int) -> (Int, Int) {
        let lo = start >= 0 ? 0 : min(count, (-start + stride - 1) / stride)
        let hi = width - start <= 0 ? 0 : min(count, (width - start + stride - 1) / stride)
        return (lo, max(lo, hi))
    }
}
