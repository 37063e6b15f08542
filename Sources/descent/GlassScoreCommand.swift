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
        PRED and MASK are 8-bit class masks of the same size (0 background, 1 scratch, 2 pit, 3 crack, 4 chip, \
        5 dirt), as `descent glass synth` writes them. For each defect class, counting pixels:
          TP px, FP px, FN px  pixels of the class predicted as it; predicted as it but of another class; of the \
        class but predicted as another.
          IoU        TP / (TP + FP + FN): the overlap of predicted and true pixels over their union.
          precision  TP / (TP + FP): the share of pixels predicted as the class that are of it.
          recall     TP / (TP + FN): the share of the class's pixels that are predicted as it.
        Counting defects (8-connected components of one class in MASK):
          defects    true defects of the class; found: those with at least one pixel predicted as their class.
          detection recall  found / defects.
        The last row: the mean IoU over the classes present in MASK or PRED (a class in neither has no IoU), and \
        the defects found over all classes. "—" marks a figure that is undefined (e.g. the class is in neither mask); \
        in JSON it is null.
        """
    )

    @Argument(help: "The predicted mask (8-bit TIFF).") var prediction: String
    @Argument(help: "The true mask (8-bit TIFF).") var mask: String
    @Option(help: "Also write the scores to this file as one JSON object.") var json: String?

    func run() throws {
        try failing {
            let score = try MaskScore(prediction: try openMask(prediction), truth: try openMask(mask))
            print(score.markdown(), terminator: "")
            if let json {
                do { try (score.json() + "\n").write(toFile: json, atomically: true, encoding: .utf8) }
                catch { throw CommandError("\(json): cannot be written (\((error as NSError).localizedDescription))") }
            }
        }
    }
}

/// Opens a class mask for streaming by rows.
func openMask(_ path: String) throws -> MaskRows {
    try TIFFStripReader(path: path)
}
