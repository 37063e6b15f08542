// Overview.swift — what a person looks at after segmentation: a downscaled picture of the image with predicted
// defects coloured by class (PNG), and the list of predicted defects (connected components) with their bounding
// boxes and areas, written as they are found. Both come from one pass over the image and its mask, band by band.
#if canImport(Glibc)
import Glibc
#endif

public struct Overview {
    /// One overview pixel per `scale` × `scale` image pixels.
    public var scale = 16
    /// Side of an image pixel in µm (0.5 µm for the 16K line camera).
    public var pixelMicrometres = 0.5
    /// Colours of classes 1…5 (scratch red, pit yellow, crack magenta, chip cyan, dirt green).
    public static let colours: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (255, 40, 40), (255, 220, 0), (255, 0, 255), (0, 220, 255), (60, 220, 60)]

    public init() {}

    /// Writes the overview PNG to `png` and the predicted defects of `mask` over `image` to `csv` (class, name,
    /// bounding box in inclusive pixel coordinates, area in px and µm²), written as they are completed; returns
    /// their count. Both files appear under their names only when complete.
    public func write(image: MaskRows, mask: MaskRows, png: String, csv: String) throws -> Int {
        guard image.width == mask.width, image.height == mask.height else {
            throw TIFFError(mask.path, "is \(mask.width) × \(mask.height) but the image \(image.path) is \(image.width) × \(image.height)")
        }
        let list = try DefectList(path: csv, pixelMicrometres: pixelMicrometres)
        let width = image.width, height = image.height
        let ow = (width + scale - 1) / scale, oh = (height + scale - 1) / scale
        var rgb = [UInt8](repeating: 0, count: ow * oh * 3)
        var pixels = [UInt8](repeating: 0, count: scale * width), classes = pixels
        let classCount = Self.colours.count
        var brightness = [Int](repeating: 0, count: ow), votes = [Int](repeating: 0, count: ow * classCount)
        let labeller = ComponentLabeller(width: width)
        for oy in 0..<oh {
            let rows = oy * scale..<min((oy + 1) * scale, height)
            try pixels.withUnsafeMutableBufferPointer { try image.read(rows: rows, into: $0.baseAddress!) }
            try classes.withUnsafeMutableBufferPointer { try mask.read(rows: rows, into: $0.baseAddress!) }
            classes.withUnsafeBufferPointer { labeller.add(rows: $0.baseAddress!, count: rows.count, hits: nil) }
            try list.append(labeller.takeCompleted())
            for i in 0..<ow { brightness[i] = 0 }
            for i in 0..<votes.count { votes[i] = 0 }
            for r in 0..<rows.count {
                for x in 0..<width {
                    brightness[x / scale] += Int(pixels[r * width + x])
                    let k = Int(classes[r * width + x])
                    if k > 0 && k < classCount { votes[x / scale * classCount + k] += 1 }
                }
            }
            for ox in 0..<ow {
                let n = rows.count * (min((ox + 1) * scale, width) - ox * scale)
                let grey = UInt8(brightness[ox] / max(n, 1))
                // A defect pixel marks its whole block, in the colour of the block's most frequent defect class (a
                // pit ringed by a few pixels taken for a chip stays a pit; ties go to the lower class).
                var defect = 0
                for k in 1..<classCount where votes[ox * classCount + k] > votes[ox * classCount + defect] { defect = k }
                let (r, g, b) = defect == 0 ? (grey, grey, grey) : Self.colours[defect]
                rgb[(oy * ow + ox) * 3] = r; rgb[(oy * ow + ox) * 3 + 1] = g; rgb[(oy * ow + ox) * 3 + 2] = b
            }
        }
        try list.append(labeller.finish())
        try PNGWriter.writeRGB(path: png, width: ow, height: oh, pixels: rgb)
        try list.close()
        return list.count
    }
}

/// The defect list as CSV, appended to as components are completed: `path` + ".tmp", renamed when closed.
final class DefectList {
    let path: String, temporary: String
    private var file: UnsafeMutablePointer<FILE>?
    private let area: Double
    private(set) var count = 0

    init(path: String, pixelMicrometres: Double) throws {
        self.path = path; temporary = path + ".tmp"; area = pixelMicrometres * pixelMicrometres
        guard let f = fopen(temporary, "w") else { throw TIFFError(temporary, "cannot be created (\(String(cString: strerror(errno))))") }
        file = f
        fputs("class,name,x0,y0,x1,y1,area_px,area_um2\n", f)
    }

    deinit { if let file { fclose(file); unlink(temporary) } }

    func append(_ defects: [Component]) throws {
        guard let file else { return }
        for d in defects {
            let line = "\(d.kind),\(GlassSynthesis.classNames[d.kind]),\(d.x0),\(d.y0),\(d.x1),\(d.y1),\(d.area),\(Double(d.area) * area)\n"
            guard fputs(line, file) >= 0 else { throw TIFFError(temporary, "cannot be written (disk full?)") }
        }
        count += defects.count
    }

    func close() throws {
        guard let f = file else { return }
        file = nil
        guard fflush(f) == 0, fsync(fileno(f)) == 0, fclose(f) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TIFFError(path, "cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
