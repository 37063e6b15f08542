// TileCutter.swift — (image, mask) tiles cut from line-scan images into a Descent sample file with masks, the
// training data of the segmentation model. Every tile holding a defect is kept; background-only tiles are kept
// with a small probability (defect-balanced sampling), ten times as often when they look unlike the plain glass
// around them (the dark background beyond a glass edge, an edge itself), so that the model sees enough of the
// rare backgrounds it must not take for defects. Images are read band by band: memory is one band of tile rows,
// whatever the image's height.
import Data
import Tensor

public struct TileCutter: Sendable {
    /// Side of the square tiles in pixels, and the overlap of neighbouring tiles.
    public var tile = 128, overlap = 0
    /// Probability of keeping a tile without defect pixels (`unusualBoost` times that for an unusual one).
    public var backgroundFraction = 0.05
    /// A background tile is unusual when its mean intensity is more than 25 % off the median tile of its band.
    public static let unusualBoost = 10.0
    public var seed: UInt64 = 0

    public init() {}

    /// What was cut from one image.
    public struct Counts: Sendable {
        public var seen = 0, kept = 0, withDefects = 0
        /// Kept background-only tiles that were unusual (see `unusualBoost`).
        public var unusual = 0
        /// Defect pixels per class in the kept tiles (index 0: background pixels).
        public var pixels = [Int](repeating: 0, count: GlassSynthesis.classNames.count)
        public init() {}

        public static func += (total: inout Counts, image: Counts) {
            total.seen += image.seen; total.kept += image.kept; total.withDefects += image.withDefects
            total.unusual += image.unusual
            for c in 0..<total.pixels.count { total.pixels[c] += image.pixels[c] }
        }
    }

    /// The mask written next to `image` by `descent glass synth` (glass-3.tif → glass-3-mask.tif).
    public static func maskPath(for image: String) -> String {
        image.hasSuffix(".tif") ? String(image.dropLast(4)) + "-mask.tif" : image + "-mask.tif"
    }

    /// The width shared by all `images` (nil for none). The tiles of one file come from images of one width: the
    /// model trained on them is for that camera, and the file records the width for `descent glass segment` to check.
    public static func commonWidth(of images: [String]) throws -> Int? {
        var first: (path: String, width: Int)?
        for image in images {
            let width = try TIFFStripReader(path: image).width
            guard let f = first else { first = (image, width); continue }
            guard width == f.width else {
                throw TIFFError(image, "\(width) columns, but \(f.path) has \(f.width): the tiles of one file come from images of one width (cut one file per width)")
            }
        }
        return first?.width
    }

    /// Cuts the tiles of image number `imageIndex` (keys the background draws) and appends the kept ones to `out`.
    public func cut(image: String, mask: String, imageIndex: Int, into out: SampleFileWriter) throws -> Counts {
        let pixels = try TIFFStripReader(path: image), classes = try TIFFStripReader(path: mask)
        if let recorded = out.imageWidth, recorded != pixels.width {
            throw TIFFError(image, "\(pixels.width) columns, but \(out.path) holds tiles of \(recorded)-column images")
        }
        guard pixels.width == classes.width, pixels.height == classes.height else {
            throw TIFFError(mask, "is \(classes.width) × \(classes.height) but its image \(image) is \(pixels.width) × \(pixels.height)")
        }
        guard pixels.width >= tile, pixels.height >= tile else {
            throw TIFFError(image, "is \(pixels.width) × \(pixels.height), smaller than one \(tile) × \(tile) tile")
        }
        let stride = tile - overlap, width = pixels.width, across = (width - tile) / stride + 1
        let unusualFraction = min(1, Self.unusualBoost * backgroundFraction)
        var means = [Double](repeating: 0, count: across)
        var band = [UInt8](repeating: 0, count: tile * width), bandMask = band
        var tileImage = [UInt8](repeating: 0, count: tile * tile), tileMask = tileImage
        var perClass = [Int](repeating: 0, count: GlassSynthesis.classNames.count)
        let draws = RandomStream(seed: seed, name: "glass/background_tiles", index: UInt64(imageIndex))
        var counts = Counts()
        var y0 = 0
        while y0 + tile <= pixels.height {
            try band.withUnsafeMutableBufferPointer { try pixels.read(rows: y0..<y0 + tile, into: $0.baseAddress!) }
            try bandMask.withUnsafeMutableBufferPointer { try classes.read(rows: y0..<y0 + tile, into: $0.baseAddress!) }
            for t in 0..<across {
                var sum = 0
                for y in 0..<tile { for x in 0..<tile { sum += Int(band[y * width + t * stride + x]) } }
                means[t] = Double(sum) / Double(tile * tile)
            }
            let median = means.sorted()[across / 2]
            var x0 = 0
            while x0 + tile <= width {
                for c in 0..<perClass.count { perClass[c] = 0 }
                for y in 0..<tile {
                    for x in 0..<tile {
                        let m = bandMask[y * width + x0 + x]
                        guard Int(m) < perClass.count else {
                            throw TIFFError(mask, "unknown class \(m) at row \(y0 + y), column \(x0 + x) (classes are 0…\(perClass.count - 1))")
                        }
                        perClass[Int(m)] += 1
                        tileImage[y * tile + x] = band[y * width + x0 + x]
                        tileMask[y * tile + x] = m
                    }
                }
                let defectPixels = tile * tile - perClass[0]
                let unusual = abs(means[x0 / stride] - median) > 0.25 * median
                let keep = defectPixels > 0 || Double(draws.uniform(UInt64(counts.seen))) < (unusual ? unusualFraction : backgroundFraction)
                counts.seen += 1
                if keep {
                    // The tile's label: its most frequent defect class (0 for background), for stratified subsets.
                    let label = defectPixels == 0 ? 0 : (1..<perClass.count).max { perClass[$0] < perClass[$1] }!
                    try tileImage.withUnsafeBufferPointer { i in
                        try tileMask.withUnsafeBufferPointer { try out.append(image: i.baseAddress!, label: Int32(label), mask: $0.baseAddress!) }
                    }
                    counts.kept += 1
                    if defectPixels > 0 { counts.withDefects += 1 } else if unusual { counts.unusual += 1 }
                    for c in 0..<perClass.count { counts.pixels[c] += perClass[c] }
                }
                x0 += stride
            }
            y0 += stride
        }
        return counts
    }
}
