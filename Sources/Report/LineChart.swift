// LineChart.swift — a line chart of named (x, y) series as a standalone SVG document: axes with nice ticks
// (linear or logarithmic), grid, legend, colour-blind-safe colours, shaded ranges, dashed vertical marker lines.
import Foundation

/// A line chart of one or more named series, rendered by ``svg()`` as a standalone SVG document.
///
/// Points that cannot be drawn (NaN, infinite, or ≤ 0 on a logarithmic axis) leave a gap in their line; a point
/// with no drawable neighbour is drawn as a dot, and every point gets a dot when its series has at most
/// ``pointMarkerLimit`` points. Points are joined in the order given. A chart with nothing to draw shows "no data".
public struct LineChart: Sendable {
    /// How values map to positions along an axis.
    public enum Scale: Sendable, Equatable {
        case linear
        /// Powers of ten evenly spaced; values ≤ 0 are not drawn.
        case logarithmic
    }

    /// One data point.
    public struct Point: Equatable, Sendable {
        public var x: Double
        public var y: Double
        public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
    }

    /// A named line; its name appears in the legend.
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// A shaded range under the line, one per point (e.g. the smallest to the largest value over seeds);
        /// nil draws none. A point whose range cannot be drawn leaves a gap in the shading.
        public var band: [ClosedRange<Double>]?
        public init(_ name: String, points: [Point]) { self.name = name; self.points = points }
        /// A series from parallel arrays of x and y values (the shorter one sets the length).
        public init(_ name: String, x: [Double], y: [Double]) {
            self.init(name, points: zip(x, y).map { Point($0, $1) })
        }
    }

    /// A dashed vertical line at `x` across the plot, labelled (e.g. the interpolation threshold n·K).
    public struct Marker: Equatable, Sendable {
        public var x: Double
        public var label: String
        public init(x: Double, label: String) { self.x = x; self.label = label }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale
    public var yScale: Scale
    /// The x range to show instead of the data's (extended to nice ticks); nil fits the data and markers.
    public var xRange: ClosedRange<Double>?
    /// The y range to show instead of the data's (extended to nice ticks); nil fits the data.
    public var yRange: ClosedRange<Double>?
    public var series: [Series]
    public var markers: [Marker]
    /// Size of the figure in pixels.
    public var width: Double = 640
    public var height: Double = 400
    /// Series with at most this many points get a dot on every point.
    public var pointMarkerLimit = 25

    /// A chart; add series and markers here or later through the properties.
    public init(title: String, xLabel: String = "", yLabel: String = "", xScale: Scale = .linear,
                yScale: Scale = .linear, series: [Series] = [], markers: [Marker] = []) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        self.xScale = xScale; self.yScale = yScale
        self.series = series; self.markers = markers
    }

    /// Okabe & Ito's colour-blind-safe palette (yellow last: it is faint on white); series past the eighth
    /// repeat the colours with a dashed line.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    static let fonts = "DejaVu Sans, Helvetica, Arial, sans-serif"
    static let titleSize = 15.0, labelSize = 12.0, tickSize = 11.0

    /// The chart as a complete SVG document (UTF-8 XML with the SVG namespace, a viewBox and a white background).
    public func svg() -> String {
        let segments = series.map { drawableRuns($0.points) }
        let bands = series.map(drawableBandRuns)
        let xs = segments.flatMap { $0.flatMap { $0.map(\.x) } } + markers.map(\.x)
        let ys = segments.flatMap { $0.flatMap { $0.map(\.y) } }
            + bands.flatMap { $0.flatMap { $0.flatMap { [$0.low, $0.high] } } }
        let hasData = !ys.isEmpty

        // Margins: title above; tick labels and the x label below; y tick labels and the y label on the left;
        // the legend outside the plot (right, or below for long names) so it never hides a line.
        let top = title.isEmpty ? 16.0 : 42.0
        let legend = Legend(names: series.map(\.name), chartWidth: width)
        let underTicks = 10 + Self.tickSize + 8 + (xLabel.isEmpty ? 0 : Self.labelSize + 12)
        let bottom = underTicks + legend.heightBelow
        let plotHeight = max(10, height - top - bottom)
        let yAxis = hasData ? Axis.make(values: ys, scale: yScale, range: yRange, targetTicks: max(3, Int(plotHeight / 55))) : nil
        let yTickWidth = yAxis.map { $0.ticks.map { SVG.textWidth($0.label, size: Self.tickSize) }.max() ?? 0 } ?? 0
        let left = 10 + (yLabel.isEmpty ? 0 : Self.labelSize + 10) + yTickWidth + 8
        var right = max(legend.widthRight, 20)
        var plotWidth = max(10, width - left - right)
        let xAxis = hasData ? Axis.make(values: xs, scale: xScale, range: xRange, targetTicks: max(3, Int(plotWidth / 80))) : nil
        if let last = xAxis?.ticks.last {
            right = max(right, SVG.textWidth(last.label, size: Self.tickSize) / 2 + 6)
            plotWidth = max(10, width - left - right)
        }
        let plot = Frame(left: left, top: top, width: plotWidth, height: plotHeight)

        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(SVG.num(width))" height="\(SVG.num(height))" \
            viewBox="0 0 \(SVG.num(width)) \(SVG.num(height))" font-family="\(Self.fonts)" role="img">
            <title>\(SVG.escape(title))</title>
            <rect width="\(SVG.num(width))" height="\(SVG.num(height))" fill="white"/>

            """
        if !title.isEmpty {
            let size = max(11, min(Self.titleSize, (width - 20) / max(1, Double(title.count) * 0.6)))
            let shown = SVG.truncate(title, maxWidth: width - 20, size: size)
            out += "<text class=\"title\" x=\"\(SVG.num(width / 2))\" y=\"\(SVG.num(top - 16))\" text-anchor=\"middle\" "
                + "font-size=\"\(SVG.num(size))\" font-weight=\"bold\" fill=\"#222\">\(SVG.escape(shown))</text>\n"
        }
        if let xAxis, let yAxis {
            out += grid(plot, xAxis, yAxis)
        }
        out += "<rect class=\"frame\" x=\"\(SVG.num(plot.left))\" y=\"\(SVG.num(plot.top))\" width=\"\(SVG.num(plot.width))\" "
            + "height=\"\(SVG.num(plot.height))\" fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>\n"
        if let xAxis, let yAxis {
            out += tickLabels(plot, xAxis, yAxis)
        }
        out += axisLabels(plot)
        if let xAxis, let yAxis {
            out += "<clipPath id=\"plot-area\"><rect x=\"\(SVG.num(plot.left - 4))\" y=\"\(SVG.num(plot.top - 4))\" "
                + "width=\"\(SVG.num(plot.width + 8))\" height=\"\(SVG.num(plot.height + 8))\"/></clipPath>\n"
            out += shading(plot, xAxis, yAxis, bands)
            out += lines(plot, xAxis, yAxis, segments)
            out += markerLines(plot, xAxis)
        } else {
            out += "<text class=\"no-data\" x=\"\(SVG.num(plot.left + plot.width / 2))\" y=\"\(SVG.num(plot.top + plot.height / 2))\" "
                + "text-anchor=\"middle\" font-size=\"14\" fill=\"#777\">no data</text>\n"
        }
        out += legend.svg(plot: plot, belowTop: plot.bottom + underTicks, chartWidth: width) { i in
            (Self.palette[i % Self.palette.count], i >= Self.palette.count, showsDots(segments[i]))
        }
        return out + "</svg>\n"
    }

    /// The plot area in pixels.
    struct Frame {
        var left, top, width, height: Double
        var right: Double { left + width }
        var bottom: Double { top + height }
        func x(_ axis: Axis, _ v: Double) -> Double { left + axis.fraction(v) * width }
        func y(_ axis: Axis, _ v: Double) -> Double { bottom - axis.fraction(v) * height }
    }

    /// The runs of consecutive drawable points of a series: each undrawable point ends a run.
    func drawableRuns(_ points: [Point]) -> [[Point]] {
        Self.runs(points) { Axis.plottable($0.x, xScale) && Axis.plottable($0.y, yScale) }
    }

    /// The runs of consecutive points of a series' band whose x and both bounds can be drawn.
    func drawableBandRuns(_ s: Series) -> [[(x: Double, low: Double, high: Double)]] {
        let band = zip(s.points, s.band ?? []).map { (x: $0.x, low: $1.lowerBound, high: $1.upperBound) }
        return Self.runs(band) { Axis.plottable($0.x, xScale) && Axis.plottable($0.low, yScale) && Axis.plottable($0.high, yScale) }
    }

    /// The maximal runs of consecutive items that are `drawable`.
    static func runs<T>(_ items: [T], drawable: (T) -> Bool) -> [[T]] {
        var runs: [[T]] = [], current: [T] = []
        for item in items {
            if drawable(item) {
                current.append(item)
            } else if !current.isEmpty {
                runs.append(current); current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// Each series' band as a translucent polygon in its colour (along the upper bounds, back along the lower),
    /// under all lines.
    private func shading(_ plot: Frame, _ xAxis: Axis, _ yAxis: Axis, _ bands: [[[(x: Double, low: Double, high: Double)]]]) -> String {
        guard bands.contains(where: { !$0.isEmpty }) else { return "" }
        var out = "<g class=\"bands\" clip-path=\"url(#plot-area)\" stroke=\"none\" fill-opacity=\"0.15\">\n"
        for (i, runs) in bands.enumerated() {
            for run in runs where run.count > 1 {
                let upper = run.map { SVG.num(plot.x(xAxis, $0.x)) + " " + SVG.num(plot.y(yAxis, $0.high)) }
                let lower = run.reversed().map { SVG.num(plot.x(xAxis, $0.x)) + " " + SVG.num(plot.y(yAxis, $0.low)) }
                out += "<path class=\"band\" data-series=\"\(SVG.escape(series[i].name))\" d=\"M" + (upper + lower).joined(separator: "L")
                    + "Z\" fill=\"\(Self.palette[i % Self.palette.count])\"/>\n"
            }
        }
        return out + "</g>\n"
    }

    private func grid(_ plot: Frame, _ xAxis: Axis, _ yAxis: Axis) -> String {
        var out = "<g class=\"grid\" stroke-width=\"1\">\n"
        func vertical(_ x: Double, _ colour: String) {
            out += "<line x1=\"\(SVG.num(x))\" y1=\"\(SVG.num(plot.top))\" x2=\"\(SVG.num(x))\" y2=\"\(SVG.num(plot.bottom))\" stroke=\"\(colour)\"/>\n"
        }
        func horizontal(_ y: Double, _ colour: String) {
            out += "<line x1=\"\(SVG.num(plot.left))\" y1=\"\(SVG.num(y))\" x2=\"\(SVG.num(plot.right))\" y2=\"\(SVG.num(y))\" stroke=\"\(colour)\"/>\n"
        }
        for v in xAxis.minor where v > xAxis.lower && v < xAxis.upper { vertical(plot.x(xAxis, v), "#f0f0f0") }
        for v in yAxis.minor where v > yAxis.lower && v < yAxis.upper { horizontal(plot.y(yAxis, v), "#f0f0f0") }
        for t in xAxis.ticks { vertical(plot.x(xAxis, t.value), "#dcdcdc") }
        for t in yAxis.ticks { horizontal(plot.y(yAxis, t.value), "#dcdcdc") }
        return out + "</g>\n"
    }

    /// Tick marks and labels; when neighbouring labels would touch, only every k-th is written.
    private func tickLabels(_ plot: Frame, _ xAxis: Axis, _ yAxis: Axis) -> String {
        let size = Self.tickSize
        var out = "<g class=\"x-ticks\" font-size=\"\(SVG.num(size))\" fill=\"#333\" text-anchor=\"middle\">\n"
        let xs = xAxis.ticks.map { plot.x(xAxis, $0.value) }
        let widest = xAxis.ticks.map { SVG.textWidth($0.label, size: size) }.max() ?? 0
        let xEvery = labelStride(positions: xs, room: widest + 8)
        for (i, t) in xAxis.ticks.enumerated() {
            let x = SVG.num(xs[i])
            out += "<line x1=\"\(x)\" y1=\"\(SVG.num(plot.bottom))\" x2=\"\(x)\" y2=\"\(SVG.num(plot.bottom + 4))\" stroke=\"#888\"/>\n"
            if i % xEvery == 0 {
                out += "<text class=\"tick\" x=\"\(x)\" y=\"\(SVG.num(plot.bottom + 6 + size))\">\(SVG.escape(t.label))</text>\n"
            }
        }
        out += "</g>\n<g class=\"y-ticks\" font-size=\"\(SVG.num(size))\" fill=\"#333\" text-anchor=\"end\">\n"
        let ys = yAxis.ticks.map { plot.y(yAxis, $0.value) }
        let yEvery = labelStride(positions: ys, room: size + 4)
        for (i, t) in yAxis.ticks.enumerated() {
            let y = SVG.num(ys[i])
            out += "<line x1=\"\(SVG.num(plot.left - 4))\" y1=\"\(y)\" x2=\"\(SVG.num(plot.left))\" y2=\"\(y)\" stroke=\"#888\"/>\n"
            if i % yEvery == 0 {
                out += "<text class=\"tick\" x=\"\(SVG.num(plot.left - 7))\" y=\"\(SVG.num(ys[i] + size * 0.35))\">\(SVG.escape(t.label))</text>\n"
            }
        }
        return out + "</g>\n"
    }

    /// Every how many ticks a label fits, given tick positions and the room one label needs.
    private func labelStride(positions: [Double], room: Double) -> Int {
        guard positions.count > 1 else { return 1 }
        let gap = abs(positions[1] - positions[0])
        return gap <= 0 ? positions.count : max(1, Int((room / gap).rounded(.up)))
    }

    private func axisLabels(_ plot: Frame) -> String {
        var out = ""
        if !xLabel.isEmpty {
            let shown = SVG.truncate(xLabel, maxWidth: plot.width, size: Self.labelSize)
            out += "<text class=\"x-label\" x=\"\(SVG.num(plot.left + plot.width / 2))\" y=\"\(SVG.num(plot.bottom + 10 + Self.tickSize + 10 + Self.labelSize))\" "
                + "text-anchor=\"middle\" font-size=\"\(SVG.num(Self.labelSize))\" fill=\"#222\">\(SVG.escape(shown))</text>\n"
        }
        if !yLabel.isEmpty {
            let shown = SVG.truncate(yLabel, maxWidth: plot.height, size: Self.labelSize)
            let x = SVG.num(10 + Self.labelSize * 0.8), y = SVG.num(plot.top + plot.height / 2)
            out += "<text class=\"y-label\" x=\"\(x)\" y=\"\(y)\" transform=\"rotate(-90 \(x) \(y))\" "
                + "text-anchor=\"middle\" font-size=\"\(SVG.num(Self.labelSize))\" fill=\"#222\">\(SVG.escape(shown))</text>\n"
        }
        return out
    }

    /// One `<path>` per series (a sub-path per run of drawable points, so undrawable points leave gaps) and its
    /// dots, clipped to the plot area (the clip path `svg()` defines).
    private func lines(_ plot: Frame, _ xAxis: Axis, _ yAxis: Axis, _ segments: [[[Point]]]) -> String {
        var out = "<g class=\"series\" clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n"
        for (i, s) in series.enumerated() {
            let colour = Self.palette[i % Self.palette.count]
            let dash = i >= Self.palette.count ? " stroke-dasharray=\"6 3\"" : ""
            out += "<g data-series=\"\(SVG.escape(s.name))\">\n"
            let d = segments[i].filter { $0.count > 1 }.map { run in
                run.enumerated().map { j, p in
                    (j == 0 ? "M" : "L") + SVG.num(plot.x(xAxis, p.x)) + " " + SVG.num(plot.y(yAxis, p.y))
                }.joined()
            }.joined()
            if !d.isEmpty {
                out += "<path class=\"line\" d=\"\(d)\" stroke=\"\(colour)\"\(dash)/>\n"
            }
            let dotted = showsDots(segments[i])
            for run in segments[i] where dotted || run.count == 1 {
                for p in run {
                    out += "<circle cx=\"\(SVG.num(plot.x(xAxis, p.x)))\" cy=\"\(SVG.num(plot.y(yAxis, p.y)))\" r=\"3\" "
                        + "fill=\"\(colour)\" stroke=\"white\" stroke-width=\"0.8\"/>\n"
                }
            }
            out += "</g>\n"
        }
        return out + "</g>\n"
    }

    private func showsDots(_ runs: [[Point]]) -> Bool {
        runs.reduce(0) { $0 + $1.count } <= pointMarkerLimit
    }

    /// Dashed vertical lines with their labels near the top, staggered so neighbouring labels do not collide,
    /// set left of the line when they would run past the plot's right edge.
    private func markerLines(_ plot: Frame, _ xAxis: Axis) -> String {
        let visible = markers.filter { Axis.plottable($0.x, xScale) && $0.x >= xAxis.lower && $0.x <= xAxis.upper }
        guard !visible.isEmpty else { return "" }
        let size = Self.tickSize
        var out = "<g class=\"markers\" font-size=\"\(SVG.num(size))\" fill=\"#333\">\n"
        for (i, m) in visible.enumerated() {
            let x = plot.x(xAxis, m.x)
            out += "<line class=\"marker\" x1=\"\(SVG.num(x))\" y1=\"\(SVG.num(plot.top))\" x2=\"\(SVG.num(x))\" "
                + "y2=\"\(SVG.num(plot.bottom))\" stroke=\"#444\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"/>\n"
            guard !m.label.isEmpty else { continue }
            let label = SVG.truncate(m.label, maxWidth: plot.width / 2, size: size)
            let w = SVG.textWidth(label, size: size)
            let before = x + 5 + w > plot.right
            let lx = before ? x - 5 : x + 5
            let ly = plot.top + 6 + size + Double(i % 3) * (size + 4)
            out += "<text class=\"marker-label\" x=\"\(SVG.num(lx))\" y=\"\(SVG.num(ly))\" text-anchor=\"\(before ? "end" : "start")\" "
                + "stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\(SVG.escape(label))</text>\n"
        }
        return out + "</g>\n"
    }
}
