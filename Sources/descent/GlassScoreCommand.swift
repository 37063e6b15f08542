// GlassScoreCommand.swift — `descent glass score PRED MASK`: how well a predicted class mask matches the true one
// (pixel IoU, precision, recall per defect class, and how many true defects are found), as a Markdown table and
// optionally JSON. Both masks are streamed in bands of rows, so their size does not matter.
import ArgumentParser
import Foundation
import Segmentation

struct GlassScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score a predicted defect mask against the true mask: IoU, precision, recall, defects found.",
        discussion: """
        <prediction> and <mask> are class masks of the same size (0 background, 1 scratch, 2 pit, 3 crack, 4 chip, \
        5 dirt): the .h5 file `descent glass segment` writes, or an 8-bit TIFF as `descent glass synth` writes masks. \
        They are read in bands of 256 rows.

        Per defect class, counting pixels: TP px are pixels of the class predicted as it, FP px pixels predicted \
        as it that are of another class, FN px pixels of the class predicted as another. IoU = TP / (TP + FP + FN), \
        the overlap of predicted and true pixels over their union; precision = TP / (TP + FP), the share of the \
        pixels predicted as the class that are of it; recall = TP / (TP + FN), the share of the class's pixels \
        that are predicted as it.

        Per defect class, counting defects: defects are the 8-connected components of the class in <mask>; a \
        defect is found when at least one of its pixels is predicted as its class; detection recall = found / \
        defects.

        The last row gives the mean IoU over the classes present in <mask> or <prediction> (a class in neither has \
        no IoU), and the defects found over all classes. "—" marks an undefined figure (a class in neither mask \
        has no IoU, a class never predicted no precision, a class not in <mask> no recall); in JSON it is null. \
        Then the confusion matrix in pixels (rows: true class, columns: predicted class): what each class is \
        taken for.
        """
    )

    @Argument(help: "The predicted mask (NAME-pred.h5 from glass segment, or an 8-bit TIFF).") var prediction: String
    @Argument(help: "The true mask (8-bit TIFF).") var mask: String
    @Option(help: "Also write the scores to this file as one JSON object.") var json: String?

    func run() throws {
        try failing {
            let score = try MaskScore(prediction: try openMask(prediction), truth: try openMask(mask))
            print(score.markdown(), terminator: "")
            if let json {
                guard let f = fopen(json, "w") else { throw CommandError("\(json): cannot be created (\(String(cString: strerror(errno))))") }
                let written = fputs(score.json() + "\n", f) >= 0
                guard fclose(f) == 0, written else { throw CommandError("\(json): cannot be written (\(String(cString: strerror(errno))))") }
            }
        }
    }
}

/// Opens a class mask for streaming by rows: a prediction of `glass segment` (.h5) or a mask TIFF.
func openMask(_ path: String) throws -> MaskRows {
    path.hasSuffix(".h5") ? try MaskFileReader(path: path) : try TIFFStripReader(path: path)
}
