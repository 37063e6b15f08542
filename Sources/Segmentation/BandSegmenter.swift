// BandSegmenter.swift — the class of every pixel of a band of rows of a line-scan image, predicted tile by tile
// by a fully convolutional model. The tiles lie on one grid fixed by the image (not by the band or the rank), each
// read with a halo of context and padded by repeating the edge pixels at the image's borders, and each is a batch
// of one of the same shape: a pixel's prediction is the same bytes whichever rank and band computes it.
import Layers
import Tensor

public final class BandSegmenter {
    /// Rows and columns of a tile's centre (the pixels it predicts), and the context on each side.
    public let tileRows: Int, tileColumns: Int, halo: Int
    private let model: Model
    private let gain: Float, offset: Float
    private var band: [UInt8] = []

    /// `model` must take [1, tileRows + 2·halo, tileColumns + 2·halo] inputs (batch 1) and output [K, same].
    /// Pixels are normalised as in training: x/255 · scale − shift · scale.
    public init(model: Model, tileRows: Int, tileColumns: Int, halo: Int, shift: Float, scale: Float) {
        precondition(model.inputShape == [1, tileRows + 2 * halo, tileColumns + 2 * halo])
        self.model = model; self.tileRows = tileRows; self.tileColumns = tileColumns; self.halo = halo
        gain = scale / 255; offset = -shift * scale
    }

    /// Rows of tile row `t` (the last one may be short).
    public func rows(ofTileRow t: Int, height: Int) -> Range<Int> { t * tileRows..<min((t + 1) * tileRows, height) }
    public func tileRowCount(height: Int) -> Int { (height + tileRows - 1) / tileRows }

    /// Predicts the rows of tile row `t` of `image` into `out` (rows(ofTileRow:) · width bytes).
    public func predict(tileRow t: Int, of image: TIFFStripReader, into out: UnsafeMutablePointer<UInt8>) throws {
        let width = image.width, height = image.height
        let inRows = tileRows + 2 * halo, inColumns = tileColumns + 2 * halo
        let top = t * tileRows - halo
        let readable = max(top, 0)..<min(top + inRows, height)
        if band.count < inRows * width { band = [UInt8](repeating: 0, count: inRows * width) }
        try band.withUnsafeMutableBufferPointer { b in
            let base = b.baseAddress!
            try image.read(rows: readable, into: base + (readable.lowerBound - top) * width)
            // Beyond the top and bottom edges: the nearest image row.
            for r in 0..<inRows where !readable.contains(top + r) {
                let source = top + r < 0 ? readable.lowerBound : readable.upperBound - 1
                (base + r * width).update(from: base + (source - top) * width, count: width)
            }
        }
        let classes = model.outputShape[0], plane = inRows * inColumns
        let centre = rows(ofTileRow: t, height: height)
        var x0 = 0
        while x0 < width {
            let input = model.input.data
            band.withUnsafeBufferPointer { b in
                for r in 0..<inRows {
                    let row = b.baseAddress! + r * width, dst = input + r * inColumns
                    for c in 0..<inColumns {
                        let x = min(max(x0 - halo + c, 0), width - 1)   // beyond the side edges: the nearest column
                        dst[c] = Float(row[x]) * gain + offset
                    }
                }
            }
            let scores = model.forward(batch: 1, .evaluation).data
            for r in 0..<centre.count {
                for c in 0..<min(tileColumns, width - x0) {
                    let p = (r + halo) * inColumns + c + halo
                    var best = 0
                    for k in 1..<classes where scores[k * plane + p] > scores[best * plane + p] { best = k }
                    out[r * width + x0 + c] = UInt8(best)
                }
            }
            x0 += tileColumns
        }
    }
}
