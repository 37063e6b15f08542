// InspectCommand.swift — `descent inspect CHECKPOINT`: what a checkpoint (or a run's final.h5) holds — format,
// model, every tensor with its shape and norm, the training state and the metrics — as text or as JSON.
import ArgumentParser
import Checkpoint
import Foundation
import Layers

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a checkpoint holds: format, model, tensors with shapes and norms, state, metrics.",
        discussion: "Validates the file first (format, version, every checksum). A run directory is accepted too: its newest checkpoint (checkpoints/latest) is shown, or its final.h5 when it keeps no checkpoints. Epochs are numbered from 1 as in the progress lines and metrics.csv; in --json, state.epoch is the number of completed epochs and state.step_in_epoch the steps taken in the next one (the checkpoint's /state attributes)."
    )

    @Argument(help: "A checkpoint (runs/<name>/checkpoints/step-N.h5), a run's final.h5, or a run directory.")
    var checkpoint: String

    @Flag(help: "Print one JSON object instead of text (for scripts).")
    var json = false

    func run() throws {
        try failing {
            var path = checkpoint
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                if let latest = try? String(contentsOfFile: path + "/checkpoints/latest", encoding: .utf8) {
                    path += "/checkpoints/" + latest.trimmingCharacters(in: .whitespacesAndNewlines)
                } else if FileManager.default.fileExists(atPath: path + "/final.h5") {
                    path += "/final.h5"
                } else if FileManager.default.fileExists(atPath: path + "/results.csv") {
                    throw CommandError("\(checkpoint): a sweep directory, not a run directory: it holds no checkpoint; inspect one of its runs (\(checkpoint)/<run>)")
                } else {
                    throw CommandError("\(checkpoint): no checkpoint in this directory (no checkpoints/latest, no final.h5)")
                }
            }
            let c = try CheckpointFile.read(path)
            let tensors = c.layout.map { e -> (String, [Int], Double) in
                var sum = 0.0
                for i in e.offset..<e.offset + e.count { sum += Double(c.parameters[i]) * Double(c.parameters[i]) }
                return (e.name, e.shape, sum.squareRoot())
            }
            func norm(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
            let s = c.state
            if json {
                print(jsonText(path: path, c, tensors, momentumNorm: c.momentum.map(norm)))
                return
            }
            print("\(path): \(CheckpointFormat.name) version \(CheckpointFormat.version)")
            print("model      \(c.modelSpec)")
            print("input      \(c.inputShape) · \(c.classes) classes · \(c.parameters.count) parameters · \(c.buffers.count) buffer values"
                  + (c.imageWidth.map { " · trained on tiles of \($0)-column images" } ?? ""))
            print("state      \(s.position) · seed \(s.seed) · written by \(s.worldSize) rank(s) · lr \(s.learningRate) · requeued \(s.requeueCount) time(s)")
            print("optimizer  " + (c.momentum.map { "momentum, norm \(format(norm($0)))" } ?? "no state"))
            print("tensors")
            let width = tensors.map(\.0.count).max() ?? 0
            for (name, shape, n) in tensors {
                print("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(shape)  norm \(format(n))")
            }
            print("metrics    \(c.metrics.count) epoch(s)" + (c.metrics.last.map { row in
                let test = c.metricsColumns.firstIndex(of: "test_error").map { row[$0] } ?? .nan
                return "; last: epoch \(Int(row[0])), test error \(format(test))"
            } ?? ""))
        }
    }

    private func format(_ x: Double) -> String { String(format: "%.6g", x) }

    private func jsonText(path: String, _ c: CheckpointContents, _ tensors: [(String, [Int], Double)], momentumNorm: Double?) -> String {
        func string(_ s: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: s, options: .fragmentsAllowed)
            return String(decoding: data, as: UTF8.self)
        }
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        let s = c.state
        let tensorList = tensors.map { "{\"name\":\(string($0.0)),\"shape\":\($0.1),\"norm\":\(number($0.2))}" }.joined(separator: ",")
        let metrics = c.metrics.map { "[" + $0.map(number).joined(separator: ",") + "]" }.joined(separator: ",")
        return "{\"path\":\(string(path)),\"format\":\(string(CheckpointFormat.name)),\"version\":\(CheckpointFormat.version),"
            + "\"model\":\(string(c.modelSpec)),\"input_shape\":\(c.inputShape),\"classes\":\(c.classes),"
            + "\"image_width\":\(c.imageWidth.map(String.init) ?? "null"),"
            + "\"parameters\":\(c.parameters.count),\"tensors\":[\(tensorList)],"
            + "\"momentum_norm\":\(momentumNorm.map(number) ?? "null"),"
            + "\"state\":{\"epoch\":\(s.epoch),\"step_in_epoch\":\(s.stepInEpoch),\"global_step\":\(s.globalStep),\"seed\":\(s.seed),"
            + "\"world_size\":\(s.worldSize),\"learning_rate\":\(number(s.learningRate)),\"requeue_count\":\(s.requeueCount)},"
            + "\"metrics_columns\":[\(c.metricsColumns.map(string).joined(separator: ","))],\"metrics\":[\(metrics)]}"
    }
}
