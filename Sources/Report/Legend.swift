// Legend.swift — a chart's legend: right of the plot when the names are short, in centred rows below it when
// they are long; a line sample per series (with a dot when the series shows dots).

struct Legend {
    enum Placement { case right, below }
    static let size = 12.0
    static let row = size + 7
    /// Names wider than this (pixels) move the legend below the plot.
    static let rightLimit = 140.0
    static let maxRowsBelow = 4

    let placement: Placement
    /// The names as shown (shortened with "…" if they cannot fit).
    let names: [String]
    /// Below the plot: the series of each row.
    let rows: [[Int]]

    init(names full: [String], chartWidth: Double) {
        let widest = full.map { SVG.textWidth($0, size: Self.size) }.max() ?? 0
        if widest <= Self.rightLimit {
            placement = .right; names = full; rows = []
            return
        }
        placement = .below
        names = full.map { SVG.truncate($0, maxWidth: chartWidth - 24 - 28, size: Self.size) }
        var rows: [[Int]] = [], current: [Int] = [], used = 0.0
        for (i, name) in names.enumerated() {
            let w = Self.itemWidth(name)
            if used + w > chartWidth - 24 + 18 && !current.isEmpty { rows.append(current); current = []; used = 0 }
            current.append(i); used += w
        }
        if !current.isEmpty { rows.append(current) }
        self.rows = Array(rows.prefix(Self.maxRowsBelow))
    }

    /// Room taken right of the plot.
    var widthRight: Double {
        guard placement == .right, !names.isEmpty else { return 0 }
        return 16 + 28 + (names.map { SVG.textWidth($0, size: Self.size) }.max() ?? 0) + 8
    }

    /// Room taken below the x label.
    var heightBelow: Double { placement == .below ? Double(rows.count) * Self.row + 6 : 0 }

    /// Sample line, gap, name, and the space before the next item.
    private static func itemWidth(_ name: String) -> Double { 22 + 6 + SVG.textWidth(name, size: size) + 18 }

    /// The legend's SVG; `belowTop` is where the rows below the plot start; `style` gives a series' colour,
    /// whether its line is dashed and whether it shows dots.
    func svg(plot: LineChart.Frame, belowTop: Double, chartWidth: Double,
             style: (Int) -> (colour: String, dashed: Bool, dots: Bool)) -> String {
        guard !names.isEmpty else { return "" }
        var out = "<g class=\"legend\" font-size=\"\(SVG.num(Self.size))\" fill=\"#222\">\n"
        func item(_ i: Int, x: Double, y: Double) {
            let (colour, dashed, dots) = style(i)
            out += "<line x1=\"\(SVG.num(x))\" y1=\"\(SVG.num(y))\" x2=\"\(SVG.num(x + 22))\" y2=\"\(SVG.num(y))\" "
                + "stroke=\"\(colour)\" stroke-width=\"1.8\"\(dashed ? " stroke-dasharray=\"6 3\"" : "")/>\n"
            if dots {
                out += "<circle cx=\"\(SVG.num(x + 11))\" cy=\"\(SVG.num(y))\" r=\"3\" fill=\"\(colour)\" stroke=\"white\" stroke-width=\"0.8\"/>\n"
            }
            out += "<text class=\"legend-name\" x=\"\(SVG.num(x + 28))\" y=\"\(SVG.num(y + Self.size * 0.35))\">\(SVG.escape(names[i]))</text>\n"
        }
        func more(_ count: Int, x: Double, y: Double) {
            out += "<text x=\"\(SVG.num(x))\" y=\"\(SVG.num(y + Self.size * 0.35))\">… \(count) more</text>\n"
        }
        switch placement {
        case .right:
            let x = plot.right + 16
            let fits = max(1, Int((plot.height - 4) / Self.row))
            for i in names.indices {
                let y = plot.top + 8 + Double(i) * Self.row
                if i == fits - 1 && names.count > fits { more(names.count - i, x: x, y: y); break }
                item(i, x: x, y: y)
            }
        case .below:
            for (r, members) in rows.enumerated() {
                let y = belowTop + Self.row / 2 + Double(r) * Self.row
                let rowWidth = members.map { Self.itemWidth(names[$0]) }.reduce(0, +) - 18
                var x = max(12, (chartWidth - rowWidth) / 2)
                for i in members { item(i, x: x, y: y); x += Self.itemWidth(names[i]) }
                let shown = rows.reduce(0) { $0 + $1.count }
                if r == rows.count - 1 && shown < names.count { more(names.count - shown, x: x, y: y) }
            }
        }
        return out + "</g>\n"
    }
}
