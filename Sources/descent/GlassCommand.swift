// GlassCommand.swift — `descent glass …`: glass-defect segmentation on line-scan images (synth, tiles, segment,
// score; training is `descent train` on the tiles), and `synth`, the synthetic images with exact masks.
import ArgumentParser
import Foundation
import Segmentation

struct GlassCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glass",
        abstract: "Glass-defect segmentation on line-scan images: synth, tiles, segment, score (training: descent train jobs/glass-unet.toml).",
        subcommands: [GlassSynthCommand.self, GlassTilesCommand.self, GlassSegmentCommand.self, GlassScoreCommand.self]
    )
}

struct GlassSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic line-scan images of cover glass (8-bit TIFF, in strips) with defect masks.",
        discussion: """
        For each image i: DIR/glass-i.tif (the image), DIR/glass-i-mask.tif (one class per pixel: 0 background, 1 scratch, \
        2 pit, 3 crack, 4 chip, 5 dirt; deflate-compressed) and DIR/glass-i-defects.csv (class and bounding box of each \
        defect). Images are generated and written strip by strip: memory does not grow with the height. The defaults make \
        16,384 × 30,518 images of about 500 MB; image i uses seed + i.
        """
    )

    @Option(help: "Output directory.") var out: String
    @Option(help: "Number of images (≥ 1).") var images = 1
    @Option(help: "Columns (the line camera's pixels; ≥ 1024).") var width = 16_384
    @Option(help: "Rows (≥ 256; default ≈ 500 MB per image).") var height = 30_518
    @Option(help: "Seed of image 0.") var seed: UInt64 = 0
    @Option(name: .customLong("defects-per-class"), help: "Defects of each class per image (≥ 0).") var defectsPerClass = 6
    @Option(name: .customLong("rows-per-strip"), help: "Rows per TIFF strip (≥ 1).") var rowsPerStrip = 64

    func run() throws {
        try failing {
            // The first constraint broken, with the value given.
            for (ok, option, minimum, value) in [(images >= 1, "--images", 1, images), (width >= 1024, "--width", 1024, width),
                                                 (height >= 256, "--height", 256, height), (defectsPerClass >= 0, "--defects-per-class", 0, defectsPerClass),
                                                 (rowsPerStrip >= 1, "--rows-per-strip", 1, rowsPerStrip)] where !ok {
                throw CommandError("\(option) must be ≥ \(minimum), got \(value)")
            }
            try makeDirectory(out)
            InterruptCleanup.removeTemporaries(of: (0..<images).flatMap { ["\(out)/glass-\($0).tif", "\(out)/glass-\($0)-mask.tif"] })
            for i in 0..<images {
                var s = GlassSynthesis()
                s.width = width; s.height = height; s.seed = seed + UInt64(i)
                s.defectsPerClass = defectsPerClass; s.rowsPerStrip = rowsPerStrip
                s.margin = min(256, width / 16)
                let base = "\(out)/glass-\(i)"
                let start = Date()
                let defects = try s.write(image: base + ".tif", mask: base + "-mask.tif")
                let csv = "class,name,x0,y0,x1,y1\n" + defects.map {
                    "\($0.kind),\(GlassSynthesis.classNames[$0.kind]),\($0.x0),\($0.y0),\($0.x1),\($0.y1)"
                }.joined(separator: "\n") + "\n"
                try csv.write(toFile: base + "-defects.csv", atomically: true, encoding: .utf8)
                let mb = Double(width * height) / 1_000_000
                print("\(base).tif: \(width) × \(height) (\(String(format: "%.0f", mb)) MB), \(defects.count) defects, \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            }
        }
    }
}
