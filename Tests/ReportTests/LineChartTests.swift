// LineChartTests.swift — the SVG charts: well-formed XML, one path per series, shaded bands, legend (right or
// below), logarithmic ticks at powers of ten, gaps at NaN, single points as dots, marker lines, "no data", escaping.
import Foundation
import Testing
@testable import Report

private func line(_ name: String, _ ys: [Double], from x0: Double = 1) -> LineChart.Series {
    .init(name, x: ys.indices.map { x0 + Double($0) }, y: ys)
}

@Suite("Line chart")
struct LineChartTests {
    @Test func wellFormedStandaloneSVG() throws {
        let chart = LineChart(title: "Loss <train & test>", xLabel: "epoch", yLabel: "loss",
                              series: [line("train", [2, 1, 0.5]), line("test", [2.1, 1.4, 1.2])])
        let svg = chart.svg()
        #expect(xmlProblem(svg) == nil, "\(xmlProblem(svg) ?? "")")
        let root = try #require(SVGDocument(svg).all("svg").first)
        #expect(root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(root.attributes["viewBox"] == "0 0 640 400")
        #expect(SVGDocument(svg).all("text", class: "title").first?.text == "Loss <train & test>")
    }

    @Test func onePathPerSeriesAndLegendNames() {
        let names = ["width 4", "width 16", "width 64"]
        let chart = LineChart(title: "sweep", series: names.enumerated().map { i, n in
            line(n, (0..<40).map { Double($0 * (i + 1)) })
        })
        let doc = SVGDocument(chart.svg())
        let paths = doc.all("path", class: "line")
        #expect(paths.count == 3)
        #expect(Set(paths.compactMap { $0.attributes["stroke"] }).count == 3, "distinct colours")
        #expect(doc.all("text", class: "legend-name").map(\.text) == names)
        #expect(doc.all("circle").isEmpty, "40 points each: no dots")
    }

    @Test func bandsAreShadedUnderTheLineAndWidenTheYAxis() throws {
        var s = line("test", [40, 38, 39, 30])
        s.band = [35...45, 37...39, -Double.infinity...39, 28...60]
        let svg = LineChart(title: "band", series: [s, line("train", [30, 20, 10, 0])]).svg()
        #expect(xmlProblem(svg) == nil, "\(xmlProblem(svg) ?? "")")
        let doc = SVGDocument(svg)
        // The infinite bound splits the band into [0, 1] (a polygon) and [3] (one point: nothing to shade).
        let bands = doc.all("path", class: "band")
        #expect(bands.count == 1 && bands[0].attributes["data-series"] == "test")
        #expect(bands.first?.attributes["d"]?.filter { $0 == "L" }.count == 3, "4 corners: \(bands)")
        #expect(bands.first?.attributes["fill"] == doc.all("path", class: "line").first?.attributes["stroke"], "the line's colour")
        let ticks = doc.tickLabels("y").compactMap(Double.init)
        #expect((ticks.max() ?? 0) >= 60, "the y axis reaches the band's 60: \(ticks)")
        let bandAt = try #require(svg.range(of: "class=\"band\"")), lineAt = try #require(svg.range(of: "class=\"line\""))
        #expect(bandAt.lowerBound < lineAt.lowerBound, "shading is drawn under the lines")
    }

    @Test func logarithmicTicksArePowersOfTen() {
        let xs = stride(from: 0.0, through: 4.0, by: 0.25).map { pow(10, $0) }
        let chart = LineChart(title: "log", xScale: .logarithmic, yScale: .logarithmic,
                              series: [.init("s", x: xs, y: xs.map { 1 / $0 })])
        let doc = SVGDocument(chart.svg())
        #expect(doc.tickLabels("x") == ["1", "10", "100", "1k", "10k"])
        #expect(doc.tickLabels("y") == ["0.0001", "0.001", "0.01", "0.1", "1"])
    }

    @Test func manyDecadesThinTheLogTicks() {
        let chart = LineChart(title: "wide", xScale: .logarithmic,
                              series: [.init("s", x: [1e-6, 1e9], y: [0, 1])])
        let labels = SVGDocument(chart.svg()).tickLabels("x")
        #expect(labels.first == "1e-6" && labels.last == "1G", "\(labels)")
        #expect(labels.count <= 9, "\(labels)")
    }

    @Test func linearTicksAreNice() {
        let chart = LineChart(title: "lin", series: [.init("s", x: [0, 1000], y: [0.013, 0.87])])
        let doc = SVGDocument(chart.svg())
        #expect(doc.tickLabels("x") == ["0", "200", "400", "600", "800", "1k"])
        #expect(doc.tickLabels("y") == ["0", "0.2", "0.4", "0.6", "0.8", "1"])
    }

    @Test func nanSplitsThePathAndIsolatedPointsAreDots() throws {
        var ys = (0..<60).map { sin(Double($0) / 5) }
        ys[20] = .nan
        ys[40] = .nan; ys[42] = .infinity      // 41 is alone between two undrawable points
        let doc = SVGDocument(LineChart(title: "gaps", series: [line("s", ys)]).svg())
        let d = try #require(doc.all("path", class: "line").first?.attributes["d"])
        #expect(d.filter { $0 == "M" }.count == 3)
        #expect(doc.all("circle").count == 1, "only the isolated point gets a dot")
    }

    @Test func nonPositiveValuesAreGapsOnALogAxis() throws {
        let chart = LineChart(title: "log gaps", yScale: .logarithmic, series: [line("s", [1, 0.1, 0, 0.01, 0.001])])
        let d = try #require(SVGDocument(chart.svg()).all("path", class: "line").first?.attributes["d"])
        #expect(d.filter { $0 == "M" }.count == 2)
    }

    @Test func fewPointsGetMarkers() {
        let doc = SVGDocument(LineChart(title: "few", series: [line("s", [3, 2, 1, 0.5])]).svg())
        #expect(doc.all("circle").count == 4 + 1, "four points and the legend sample")
    }

    @Test func singlePointIsADot() {
        let svg = LineChart(title: "one", series: [line("only", [0.5])]).svg()
        let doc = SVGDocument(svg)
        #expect(xmlProblem(svg) == nil)
        #expect(doc.all("path", class: "line").isEmpty)
        #expect(doc.all("circle").count >= 1)
        #expect(doc.all("text", class: "no-data").isEmpty)
    }

    @Test func markerLineAndLabel() throws {
        let chart = LineChart(title: "double descent", xLabel: "parameters", xScale: .logarithmic,
                              series: [.init("test", x: [1e3, 1e4, 1e5, 1e6], y: [0.3, 0.5, 0.2, 0.1])],
                              markers: [.init(x: 5e4, label: "n·K = 50k")])
        let svg = chart.svg()
        #expect(xmlProblem(svg) == nil)
        let doc = SVGDocument(svg)
        let marker = try #require(doc.all("line", class: "marker").first)
        #expect(marker.attributes["stroke-dasharray"] != nil)
        #expect(marker.attributes["x1"] == marker.attributes["x2"])
        #expect(doc.all("text", class: "marker-label").first?.text == "n·K = 50k")
    }

    @Test func emptyChartsSayNoData() {
        let cases = [
            LineChart(title: "nothing"),
            LineChart(title: "all NaN", series: [line("s", [.nan, .nan])]),
            LineChart(title: "log of zeros", yScale: .logarithmic, series: [line("s", [0, -1])]),
            LineChart(title: "empty series", series: [.init("s", points: [])]),
        ]
        for chart in cases {
            let svg = chart.svg()
            #expect(xmlProblem(svg) == nil, "\(chart.title)")
            #expect(SVGDocument(svg).all("text", class: "no-data").count == 1, "\(chart.title)")
        }
    }

    @Test func textIsEscaped() {
        let svg = LineChart(title: "a & b", xLabel: "<x>", yLabel: "\"y\"",
                            series: [line("<b> & \"c\" 'd'\u{1}", [1, 2])]).svg()
        #expect(xmlProblem(svg) == nil, "\(xmlProblem(svg) ?? "")")
        #expect(!svg.contains("<b>"))
        #expect(SVGDocument(svg).all("text", class: "legend-name").first?.text == "<b> & \"c\" 'd'\u{FFFD}")
    }

    @Test func manySeriesCycleColoursWithDashes() {
        let chart = LineChart(title: "ten", series: (0..<10).map { line("s\($0)", [Double($0), Double($0) + 1]) })
        let paths = SVGDocument(chart.svg()).all("path", class: "line")
        #expect(paths.count == 10)
        #expect(paths.prefix(8).allSatisfy { $0.attributes["stroke-dasharray"] == nil })
        #expect(paths.suffix(2).allSatisfy { $0.attributes["stroke-dasharray"] != nil })
    }

    @Test func longNamesMoveTheLegendBelowThePlot() throws {
        let names = ["test error, label noise 20%, width sweep", "train error"]
        let doc = SVGDocument(LineChart(title: "long", xLabel: "parameters",
                                        series: names.map { line($0, [3, 2, 1]) }).svg())
        let frame = try #require(doc.all("rect", class: "frame").first)
        let frameBottom = Double(frame.attributes["y"]!)! + Double(frame.attributes["height"]!)!
        let frameRight = Double(frame.attributes["x"]!)! + Double(frame.attributes["width"]!)!
        let legend = doc.all("text", class: "legend-name")
        #expect(legend.map(\.text) == names)
        #expect(legend.allSatisfy { Double($0.attributes["y"]!)! > frameBottom })
        #expect(frameRight > 600, "the plot keeps the full width")
    }
}

@Suite("Test helpers")
struct HelperTests {
    @Test func tagBalanceFallbackAgreesOnCharts() {
        let svg = LineChart(title: "t", series: [.init("s", x: [1, 2, 3], y: [1, .nan, 2])]).svg()
        #expect(tagBalanceProblem(svg) == nil)
        #expect(tagBalanceProblem("<svg><g></svg>") != nil)
        #expect(tagBalanceProblem("<svg><text>a < b</text></svg>") != nil)
    }
}
