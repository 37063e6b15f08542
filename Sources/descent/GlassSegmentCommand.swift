// GlassSegmentCommand.swift — `descent glass segment`: band-parallel inference of a trained segmentation model on
// full line-scan images. Every rank takes a band of tile rows of each image, streams its strips, predicts, and
// writes its rows of the mask into one HDF5 file collectively; rank 0 then makes the overview PNG and the defect
// list. Memory per rank is one band of tile rows and one model, whatever the image's size.
import ArgumentParser
import Checkpoint
import Distributed
import Foundation
import Segmentation
import Tensor

struct GlassSegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Predict the defect class of every pixel of line-scan images, band-parallel over MPI ranks.",
        discussion: """
        Run under mpirun or srun (or alone). MODEL is a run's final.h5 or a checkpoint of a segmentation model (e.g. \
        jobs/glass-unet.toml). Each image is cut into tiles of --tile-rows × --tile-columns pixels on a grid fixed by \
        the image; each tile is predicted with --halo pixels of context on every side (edges repeated at the image's \
        borders). Rank r of P takes the r-th of P contiguous bands of tile rows, so the mask is the same bytes for any \
        rank count (each rank uses one BLAS thread: start one rank per core). For each IMAGE (name.tif) it writes to --out: name-pred.h5 (/mask: uint8 height × width, classes \
        0 background, 1 scratch, 2 pit, 3 crack, 4 chip, 5 dirt; written collectively with MPI-IO), name-overview.png \
        (1/--overview-scale size, defects coloured: scratch red, pit yellow, crack magenta, chip cyan, dirt green) and \
        name-defects.csv (each predicted defect: class, bounding box, area in px and µm²). Score a prediction with \
        `descent glass score name-pred.h5 name-mask.tif`. Files appear under their names only when complete. An \
        image of another width than the images the model's training tiles were cut from (another camera or \
        resolution) is refused before anything is written, unless --any-width.
        """
    )

    @Argument(help: "The trained model: a run's final.h5 or a checkpoint.") var model: String
    @Argument(help: "Line-scan images (8-bit grayscale TIFF).") var images: [String]
    @Option(help: "Output directory.") var out: String
    @Option(name: .customLong("tile-rows"), help: "Rows of each tile's predicted centre.") var tileRows = 256
    @Option(name: .customLong("tile-columns"), help: "Columns of each tile's predicted centre.") var tileColumns = 512
    @Option(help: "Pixels of context around each tile (the model sees this much beyond the tile's edges; jobs/glass-unet.toml's U-Net looks ~100 px around a pixel).") var halo = 64
    @Option(name: .customLong("overview-scale"), help: "One overview pixel per N × N image pixels.") var overviewScale = 16
    @Option(name: .customLong("pixel-size"), help: "Side of a pixel in µm (areas in the defect list).") var pixelSize = 0.5
    @Flag(name: .customLong("any-width"), help: "Segment images whose width differs from that of the model's training images (another camera or resolution: expect worse masks).")
    var anyWidth = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let launcher = Launcher.detect(environment)
        try failing(printing: launcher.printsBeforeMPI) {
            guard tileRows >= 8, tileColumns >= 8, halo >= 0, overviewScale >= 1, pixelSize > 0 else {
                throw CommandError("need --tile-rows ≥ 8, --tile-columns ≥ 8, --halo ≥ 0, --overview-scale ≥ 1, --pixel-size > 0")
            }
            if let problem = launcher.missingPMIx(environment) { throw CommandError(problem) }
            try withMPI(launcher, environment: environment) { world in
                if let problem = launcher.mismatch(mpiSize: world.size) { throw CommandError(problem) }
                // One BLAS thread per rank whatever the cores: OpenBLAS's threaded kernels may round differently, and
                // the mask must be the same bytes on any number of ranks (run one rank per core for speed).
                BLAS.setThreads(1)

                // Everything that can be wrong, on every rank, before anything is written.
                let (segmenter, saved) = try world.agreeing { () -> (BandSegmenter, SavedModel) in
                    // Its kind first, as trained: a classifier cannot even be rebuilt for a tile's input size.
                    let trained = try ModelFile.load(model, maxBatch: 1).model
                    guard trained.inputShape.first == 1, trained.outputShape.count == 3,
                          trained.outputShape[0] == GlassSynthesis.classNames.count else {
                        throw CommandError("\(model): not a glass segmentation model (input \(trained.inputShape), output \(trained.outputShape); expected [\(GlassSynthesis.classNames.count), H, W] from a 1-channel input, as jobs/glass-unet.toml trains)")
                    }
                    let saved = try ModelFile.load(model, maxBatch: 1, input: [1, tileRows + 2 * halo, tileColumns + 2 * halo])
                    let s = BandSegmenter(model: saved.model, tileRows: tileRows, tileColumns: tileColumns, halo: halo,
                                          shift: saved.contents.shift.first ?? 0, scale: saved.contents.scale.first ?? 1)
                    return (s, saved)
                }
                let readers = try world.agreeing { () -> [TIFFStripReader] in
                    let readers = try images.map { try TIFFStripReader(path: $0) }
                    if let trained = saved.contents.imageWidth, !anyWidth {
                        for (image, reader) in zip(images, readers) where reader.width != trained {
                            throw CommandError("\(image): \(reader.width) columns, but \(model) was trained on tiles of \(trained)-column images (--any-width segments it anyway)")
                        }
                    }
                    return readers
                }
                try world.agreeing { if world.isRoot { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } }
                if world.isRoot {
                    print("descent glass segment: \(images.count) image\(images.count == 1 ? "" : "s") on \(world.size) rank\(world.size == 1 ? "" : "s") · model \(saved.contents.modelSpec) · tiles \(tileRows) × \(tileColumns) + halo \(halo) · 1 BLAS thread per rank")
                }

                func base(_ image: String) -> String { "\(out)/" + URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent }
                InterruptCleanup.removeTemporaries(of: images.flatMap { [base($0) + "-pred.h5", base($0) + "-overview.png", base($0) + "-defects.csv"] })

                for (image, reader) in zip(images, readers) {
                    let name = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
                    let predicted = base(image) + "-pred.h5"
                    let started = Date()
                    let writer = try world.agreeing {
                        try MaskFileWriter(path: predicted, width: reader.width, height: reader.height, communicator: world,
                                           attributes: [("image", image), ("model", model), ("classes", GlassSynthesis.classNames.joined(separator: ","))])
                    }
                    // Rank r takes tile rows [r·T/P, (r+1)·T/P); every rank makes the same number of collective writes.
                    let tileRowCount = segmenter.tileRowCount(height: reader.height)
                    let mine = tileRowCount * world.rank / world.size..<tileRowCount * (world.rank + 1) / world.size
                    let writes = (tileRowCount + world.size - 1) / world.size
                    var band = [UInt8](repeating: 0, count: tileRows * reader.width)
                    for k in 0..<writes {
                        let t = mine.lowerBound + k
                        do {
                            try band.withUnsafeMutableBufferPointer { b in
                                guard t < mine.upperBound else { return try writer.write(rows: 0..<0, b.baseAddress!) }
                                try segmenter.predict(tileRow: t, of: reader, into: b.baseAddress!)
                                try writer.write(rows: segmenter.rows(ofTileRow: t, height: reader.height), b.baseAddress!)
                            }
                        } catch {
                            unlink(writer.temporary)   // nothing half-written left behind
                            MPIRuntime.fail("\(error)")   // the others wait in a collective write: abort
                        }
                    }
                    try writer.finish()
                    let seconds = Date().timeIntervalSince(started)
                    // Agreed, not a barrier: a failure of rank 0's overview must end the other ranks too.
                    try world.agreeing {
                        guard world.isRoot else { return }
                        var overview = Overview()
                        overview.scale = overviewScale; overview.pixelMicrometres = pixelSize
                        let defects = try overview.write(image: try TIFFStripReader(path: image), mask: try MaskFileReader(path: predicted),
                                                         png: base(image) + "-overview.png", csv: base(image) + "-defects.csv")
                        let mb = Double(reader.width * reader.height) / 1e6
                        print("\(image): \(reader.width) × \(reader.height) (\(String(format: "%.0f", mb)) MB) segmented in \(String(format: "%.1f", seconds)) s (\(String(format: "%.2f", mb / seconds)) MB/s) · \(defects) defects → \(predicted), \(name)-overview.png, \(name)-defects.csv")
                    }
                }
            }
        }
    }
}
