// MetricsTableTests.swift — metrics.csv: the writer round-trips through the parser, optional train values, the
// JSON line, and each error message (file, line, problem).
import Foundation
import Testing
@testable import Report

private let rows = [
    EpochMetrics(epoch: 1, step: 469, lr: 0.1, batchLoss: 0.7, batchError: 0.25, trainLoss: 0.61, trainError: 0.18, testLoss: 0.48,
                 testError: 0.1725, seconds: 12.5, samplesPerSecond: 4800.25),
    EpochMetrics(epoch: 2, step: 938, lr: 0.05000000074505806, trainLoss: nil, trainError: nil, testLoss: 0.39,
                 testError: 0.1401, seconds: 12.25, samplesPerSecond: 4898),
    EpochMetrics(epoch: 3, step: 1407, lr: 1e-05, trainLoss: 3.5e-07, trainError: 0, testLoss: .infinity,
                 testError: 1, seconds: 11.9, samplesPerSecond: 5042.1),
]

private func parseError(_ csv: String) -> String? {
    do { _ = try MetricsTable.parse(csv: csv, source: "runs/x/metrics.csv"); return nil }
    catch { return "\(error)" }
}

private let header = "epoch,step,lr,batch_loss,batch_error,train_loss,train_error,test_loss,test_error,seconds,samples_per_second"

@Suite("metrics.csv")
struct MetricsTableTests {
    @Test func roundTrip() throws {
        let text = MetricsTable(rows: rows).csv()
        #expect(text.hasPrefix(header + "\n"))
        #expect(text.split(separator: "\n")[2] == "2,938,0.05000000074505806,,,,,0.39,0.1401,12.25,4898.0")
        let back = try MetricsTable.parse(csv: text, source: "m.csv")
        #expect(back.rows == rows)
        #expect(back.csv() == text)
    }

    @Test func headerAloneCRLFAndBlankLines() throws {
        #expect(try MetricsTable.parse(csv: header + "\n", source: "m").rows.isEmpty)
        let crlf = header + "\r\n" + rows[0].csvRow + "\r\n\r\n"
        #expect(try MetricsTable.parse(csv: crlf, source: "m").rows == [rows[0]])
    }

    @Test func trainerInitialiserDropsUnmeasuredTrainValues() {
        let m = EpochMetrics(epoch: 1, step: 2, lr: 0.1, trainLoss: 0.5, trainError: 0.2, trainMeasured: false,
                             testLoss: 0.4, testError: 0.1, seconds: 1, samplesPerSecond: 2)
        #expect(m.trainLoss == nil && m.trainError == nil)
        let measured = EpochMetrics(epoch: 1, step: 2, lr: 0.1, trainLoss: 0.5, trainError: 0.2, trainMeasured: true,
                                    testLoss: 0.4, testError: 0.1, seconds: 1, samplesPerSecond: 2)
        #expect(measured.trainLoss == 0.5 && measured.trainError == 0.2)
    }

    @Test func jsonLine() {
        #expect(rows[1].jsonLine == #"{"epoch":2,"step":938,"lr":0.05000000074505806,"batch_loss":null,"batch_error":null,"train_loss":null,"train_error":null,"test_loss":0.39,"test_error":0.1401,"seconds":12.25,"samples_per_second":4898.0}"#)
        #expect(rows[2].jsonLine.contains(#""test_loss":null"#))
    }

    @Test func errorMessages() {
        let ok = rows[0].csvRow
        #expect(parseError("") == "runs/x/metrics.csv line 1: empty file; expected the header \(header)")
        #expect(parseError("epoch,step,learning_rate\n")
                == "runs/x/metrics.csv line 1: unknown header epoch,step,learning_rate; expected \(header)")
        #expect(parseError("\(header)\n\(ok)\n\(ok)\n1,2,3,4,5,6,7\n")
                == "runs/x/metrics.csv line 4: expected 11 columns, found 7")
        #expect(parseError("\(header)\n1.5,469,0.1,,,,,0.4,0.1,1,1\n")
                == "runs/x/metrics.csv line 2: epoch '1.5' is not an integer")
        #expect(parseError("\(header)\n1,469,0.1,,,,,abc,0.1,1,1\n")
                == "runs/x/metrics.csv line 2: test_loss 'abc' is not a number")
        #expect(parseError("\(header)\n1,469,0.1,,,,,0.4,,1,1\n")
                == "runs/x/metrics.csv line 2: test_error is empty")
        #expect(parseError("\(header)\n1,469,0.1,,,0.3,17.5,0.4,0.1,1,1\n")
                == "runs/x/metrics.csv line 2: train_error 17.5 is not a fraction in [0, 1]")
        #expect(parseError("\(header)\n1,469,0.1,0.3,-1,,,0.4,0.1,1,1\n")
                == "runs/x/metrics.csv line 2: batch_error -1 is not a fraction in [0, 1]")
    }

    @Test func loadNamesTheFile() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/metrics.csv"
        #expect(throws: ReportError("\(missing): no such file")) { try MetricsTable.load(missing) }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/metrics.csv"
        try "\(header)\n1,2,3\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ReportError("\(path) line 2: expected 11 columns, found 3")) { try MetricsTable.load(path) }
        try MetricsTable(rows: rows).csv().write(toFile: path, atomically: true, encoding: .utf8)
        let table = try MetricsTable.load(path)
        #expect(table.rows == rows && table.source == path)
    }
}
