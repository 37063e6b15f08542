// GlassTilesCommand.swift — `descent glass tiles`: the training tiles of the segmentation model, cut from line-scan
// images and their masks into one Descent sample file (data.set = "hdf5" trains on it).
import ArgumentParser
import Data
import Foundation
import Segmentation

struct GlassTilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiles",
        abstract: "Cut (image, mask) tiles from line-scan images into a Descent sample file for training.",
        discussion: """
        Each IMAGE (8-bit TIFF) is read with its mask: IMAGE with .tif replaced by -mask.tif, as `descent glass synth` \
        writes them. Tiles of --tile × --tile pixels step by --tile − --overlap. Every tile with a defect pixel is kept; \
        a tile of background only is kept with probability --background (seeded), so that training sees defects \
        often; ten times as often when its mean intensity is more than 25 % off the median tile of its row of tiles \
        (background beyond a glass edge, the edge itself: rare, and easily taken for dark defects). The file has \
        /images (N×1×T×T), /masks (N×T×T, classes 0-5) and /labels (each tile's most frequent defect class, 0 for \
        background) and records the images' width (attribute image_width): all IMAGEs must have \
        one width, and `descent glass segment` refuses images of another width than the model was trained on. Put \
        the training tiles in DIR/train.h5 and tiles of other images in DIR/test.h5, and train with data.set = \
        "hdf5", data.path = DIR (jobs/glass-unet.toml). Images are read band by band: memory does not grow with \
        their height. The file appears only when complete.
        """
    )

    @Argument(help: "Line-scan images (8-bit grayscale TIFF) of one width, each with its -mask.tif.") var images: [String]
    @Option(help: "Output sample file (.h5).") var out: String
    @Option(help: "Side of the square tiles in pixels (≥ 8).") var tile = 128
    @Option(help: "Tile overlap in pixels, less than --tile.") var overlap = 0
    @Option(help: "Probability (0–1) of keeping a tile without defects.") var background = 0.05
    @Option(help: "Seed of the background draws.") var seed: UInt64 = 0

    func run() throws {
        try failing {
            guard tile >= 8 else { throw CommandError("--tile must be ≥ 8, got \(tile)") }
            guard overlap >= 0, overlap < tile else { throw CommandError("--overlap must be ≥ 0 and less than --tile (\(tile)), got \(overlap)") }
            guard (0...1).contains(background) else { throw CommandError("--background must be between 0 and 1, got \(background)") }
            for image in images {
                for path in [image, TileCutter.maskPath(for: image)] where !FileManager.default.fileExists(atPath: path) {
                    throw CommandError("\(path): no such file\(path == image ? "" : " (the mask of \(image))")")
                }
            }
            let width = try TileCutter.commonWidth(of: images)
            let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
            if !parent.isEmpty { try makeDirectory(parent) }
            var cutter = TileCutter()
            (cutter.tile, cutter.overlap, cutter.backgroundFraction, cutter.seed) = (tile, overlap, background, seed)
            InterruptCleanup.removeTemporaries(of: [out])
            let writer = try SampleFileWriter(path: out, shape: [1, tile, tile], classes: GlassSynthesis.classNames.count,
                                              source: "descent glass tiles of \(images.count) image\(images.count == 1 ? "" : "s")",
                                              masks: true, imageWidth: width)
            var total = TileCutter.Counts()
            for (i, image) in images.enumerated() {
                let c = try cutter.cut(image: image, mask: TileCutter.maskPath(for: image), imageIndex: i, into: writer)
                print("\(image): \(c.kept) of \(c.seen) tiles kept, \(c.withDefects) with defects, \(c.unusual) of unusual background")
                total += c
            }
            try writer.finish()
            let shares = zip(GlassSynthesis.classNames, total.pixels).map { name, n in
                "\(name) \(String(format: "%.3f", 100 * Double(n) / Double(max(total.pixels.reduce(0, +), 1))))%"
            }
            print("\(out): \(total.kept) tiles of \(tile) × \(tile) (\(total.withDefects) with defects, \(total.unusual) of unusual background); pixels: \(shares.joined(separator: ", "))")
        }
    }
}
