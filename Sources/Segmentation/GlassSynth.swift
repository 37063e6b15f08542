// GlassSynth.swift — synthetic line-scan images of smartphone cover glass with exact defect masks, written strip
// by strip so that memory does not grow with the image height. What a 16K line camera shows: a column-wise gain
// pattern (pixel non-uniformity), a slow row-wise illumination drift, sensor noise, the dark background beyond
// the glass edges (the glass placed a little off and askew); and five defect classes with their mask value —
// 1 scratch (long thin straight dark line at any angle, 2-8 px), 2 pit (small dark blob), 3 crack (branching
// path, jagged at every scale, a bright glint down its dark line), 4 chip (irregular notch at a glass edge,
// showing its fracture face), 5 dirt (soft, low-contrast blotch). Everything is a pure function of the seed:
// the same seed gives the same bytes.
import Foundation
import Tensor

public struct GlassSynthesis: Sendable {
    public var width = 16_384
    /// Rows; the default makes an image of about 500 MB (16,384 × 30,518 bytes).
    public var height = 30_518
    public var seed: UInt64 = 0
    /// Defects of each class (scratch, pit, crack, chip, dirt).
    public var defectsPerClass = 6
    public var rowsPerStrip = 64
    /// Columns of dark background on each side before the glass edge (nominal: see `Placement`).
    public var margin = 256

    public init() {}

    public static let classNames = ["background", "scratch", "pit", "crack", "chip", "dirt"]

    /// One defect: a class and the pixels it covers, as a distance-to-shape test over its bounding box.
    struct Defect: Sendable {
        var kind: Int
        var box: (x0: Int, y0: Int, x1: Int, y1: Int)
        /// Polyline segments (scratch, crack), or a centre and radii (pit, chip, dirt).
        var segments: [(Double, Double, Double, Double)] = []
        var halfWidth = 1.0
        var center = (0.0, 0.0), radii = (1.0, 1.0)
        /// A chip's outline and fracture face: phases of its wobbles and of its ridges.
        var phases = (0.0, 0.0, 0.0)
        var contrast: Double
    }

    /// Where the glass lies: each image's glass sits up to margin/8 off the nominal edges and askew by up to
    /// margin/16 over the height, as a part placed by hand would, so that its edges cross the tile grid anywhere.
    struct Placement {
        var left: Double, right: Double, skew: Double, height: Double
        /// The glass's columns [left, right) in the row whose centre is at `y`.
        func edges(at y: Double) -> (left: Double, right: Double) {
            let s = skew * y / height
            return (left + s, right + s)
        }
    }

    var placement: Placement {
        let r = RandomStream(seed: seed, name: "glass/placement")
        let shift = Double(margin) / 8, skew = Double(margin) / 16
        return Placement(left: Double(margin) + shift * (2 * r.uniformDouble(0) - 1),
                         right: Double(width - margin) + shift * (2 * r.uniformDouble(1) - 1),
                         skew: skew * (2 * r.uniformDouble(2) - 1), height: Double(height))
    }

    /// The defects of the image, from the seed (placed anywhere in its height, inside the glass).
    func defects() -> [Defect] {
        let r = RandomStream(seed: seed, name: "glass/defects")
        var counter: UInt64 = 0
        func u() -> Double { counter += 1; return r.uniformDouble(counter) }
        let glass0 = Double(margin), glass1 = Double(width - margin), placement = self.placement
        var out: [Defect] = []
        for kind in 1...5 {
            for _ in 0..<defectsPerClass {
                let cx = glass0 + 100 + u() * (glass1 - glass0 - 200), cy = 50 + u() * Double(height - 100)
                var d = Defect(kind: kind, box: (0, 0, 0, 0), contrast: 0)
                switch kind {
                case 1:   // scratch: a straight thin line, 200-3000 px, any angle
                    let length = 200 + u() * 2800, angle = u() * .pi
                    let dx = cos(angle) * length / 2, dy = sin(angle) * length / 2
                    d.segments = [(cx - dx, cy - dy, cx + dx, cy + dy)]
                    d.halfWidth = 1 + u() * 3
                    d.contrast = -(50 + u() * 60)
                case 3:   // crack: a wandering path with one branch, jagged down to a few pixels (unlike a scratch)
                    // Each leg of 40 px is 5 kinked pieces of 8 px, their ends off the leg by up to ±3 px.
                    func leg(from a: (Double, Double), angle: Double, length: Double) -> (Double, Double) {
                        let (ux, uy) = (cos(angle), sin(angle))
                        var p = a
                        for k in 1...5 {
                            let along = length * Double(k) / 5, off = k == 5 ? 0 : (u() - 0.5) * 6
                            let q = (a.0 + ux * along - uy * off, a.1 + uy * along + ux * off)
                            d.segments.append((p.0, p.1, q.0, q.1))
                            p = q
                        }
                        return p
                    }
                    var point = (cx, cy)
                    var angle = u() * 2 * .pi
                    for step in 0..<14 {
                        angle += (u() - 0.5) * 1.2
                        point = leg(from: point, angle: angle, length: 40)
                        if step == 6 {   // a branch
                            var (branch, ba) = (point, angle + (u() < 0.5 ? 0.9 : -0.9))
                            for _ in 0..<5 {
                                ba += (u() - 0.5) * 1.0
                                branch = leg(from: branch, angle: ba, length: 35)
                            }
                        }
                    }
                    d.halfWidth = 1.5 + u() * 1.5
                    d.contrast = -(60 + u() * 60)
                case 2:   // pit: a small dark ellipse, 10-40 px
                    d.center = (cx, cy); d.radii = (10 + u() * 30, 10 + u() * 30)
                    d.contrast = -(70 + u() * 60)
                case 4:   // chip: a notch cut into the left or right glass edge, its outline wobbling by up to ±30 %
                    let left = u() < 0.5
                    let edges = placement.edges(at: cy)
                    d.center = (left ? edges.left : edges.right, cy); d.radii = (20 + u() * 80, 30 + u() * 150)
                    d.phases = (u() * 2 * .pi, u() * 2 * .pi, u() * 2 * .pi)
                default:  // dirt: a soft blotch, 20-80 px, low contrast
                    d.center = (cx, cy); d.radii = (20 + u() * 60, 20 + u() * 60)
                    d.contrast = -(18 + u() * 15)
                }
                let pad = d.halfWidth + 2, reach = d.kind == 4 ? 1.3 : 1   // a chip's wobble reaches 1.3 radii
                let xs = d.segments.isEmpty ? [d.center.0 - reach * d.radii.0, d.center.0 + reach * d.radii.0] : d.segments.flatMap { [$0.0, $0.2] }
                let ys = d.segments.isEmpty ? [d.center.1 - reach * d.radii.1, d.center.1 + reach * d.radii.1] : d.segments.flatMap { [$0.1, $0.3] }
                d.box = (max(0, Int(xs.min()! - pad)), max(0, Int(ys.min()! - pad)),
                         min(width - 1, Int(xs.max()! + pad)), min(height - 1, Int(ys.max()! + pad)))
                out.append(d)
            }
        }
        return out
    }

    /// Writes the image and its mask, strip by strip; returns the defects' classes and boxes.
    @discardableResult
    public func write(image: String, mask: String) throws -> [(kind: Int, x0: Int, y0: Int, x1: Int, y1: Int)] {
        let defects = self.defects()
        let imageWriter = try TIFFStripWriter(path: image, width: width, height: height, rowsPerStrip: rowsPerStrip)
        let maskWriter = try TIFFStripWriter(path: mask, width: width, height: height, rowsPerStrip: rowsPerStrip, compress: true)
        let noise = RandomStream(seed: seed, name: "glass/noise"), pattern = RandomStream(seed: seed, name: "glass/columns")
        // Column gain: a fixed pattern of ±4 % per column, smoothed over neighbours as a real sensor's.
        var gain = [Double](repeating: 1, count: width)
        for x in 0..<width { gain[x] = 1 + 0.04 * Double(pattern.normal(UInt64(x))) * 0.5 + 0.02 * sin(Double(x) / 900) }
        var pixels = [UInt8](repeating: 0, count: width * rowsPerStrip), labels = [UInt8](repeating: 0, count: width * rowsPerStrip)
        var shade = [Double](repeating: 0, count: width * rowsPerStrip)
        var near: [Int] = []   // the segments of a line defect that reach the current row
        let placement = self.placement
        for s in 0..<imageWriter.strips {
            let y0 = s * rowsPerStrip, rows = min(rowsPerStrip, height - y0)
            for r in 0..<rows {
                let y = y0 + r
                let light = 170 * (1 + 0.05 * sin(Double(y) / 2_300) + 0.02 * sin(Double(y) / 370))   // illumination drift
                let glass = placement.edges(at: Double(y) + 0.5)
                for x in 0..<width {
                    let inside = Double(x) + 0.5 >= glass.left && Double(x) + 0.5 < glass.right
                    shade[r * width + x] = inside ? light * gain[x] : 25
                    labels[r * width + x] = 0
                }
            }
            for d in defects where d.box.y1 >= y0 && d.box.y0 < y0 + rows {
                for y in max(d.box.y0, y0)..<min(d.box.y1 + 1, y0 + rows) {
                    let glass = placement.edges(at: Double(y) + 0.5)   // a chip stops at the glass edge
                    // A line defect only visits the columns its segments can reach in this row (a long scratch's
                    // box is mostly empty), and only measures the distance to those segments.
                    var columns = d.box.x0...d.box.x1
                    if !d.segments.isEmpty {
                        near.removeAll(keepingCapacity: true)
                        var (lo, hi) = (Int.max, Int.min)
                        for (k, segment) in d.segments.enumerated() {
                            guard let reach = columnsReached(by: segment, row: Double(y) + 0.5, within: d.halfWidth + 1) else { continue }
                            near.append(k)
                            lo = min(lo, reach.lowerBound); hi = max(hi, reach.upperBound)
                        }
                        guard !near.isEmpty, max(lo, d.box.x0) <= min(hi, d.box.x1) else { continue }
                        columns = max(lo, d.box.x0)...min(hi, d.box.x1)
                    }
                    for x in columns {
                        let (px, py) = (Double(x) + 0.5, Double(y) + 0.5)
                        let i = (y - y0) * width + x
                        var weight = 0.0
                        if !d.segments.isEmpty {
                            var dist = Double.infinity
                            for k in near { dist = min(dist, distance(px, py, d.segments[k])) }
                            guard dist <= d.halfWidth else { continue }
                            // A crack goes through the glass: its fracture face glints, a bright thread down the
                            // middle of the dark line (a scratch only scatters: dark across its width).
                            weight = d.kind == 3 && dist < 0.5 ? -0.5 : 1
                        } else {
                            let ex = (px - d.center.0) / d.radii.0, ey = (py - d.center.1) / d.radii.1
                            let q = ex * ex + ey * ey
                            if d.kind == 4 {
                                // A chip removes glass; what the camera sees is its fracture face: darker than
                                // glass, with conchoidal ridges around the point of impact and a bright broken rim.
                                guard px >= glass.left && px < glass.right else { continue }
                                let a = atan2(ey, ex)
                                let outline = 1 + 0.2 * sin(3 * a + d.phases.0) + 0.1 * sin(7 * a + d.phases.1)
                                let depth = q.squareRoot() / outline
                                guard depth <= 1 else { continue }
                                shade[i] = depth > 0.92 ? 215 : 70 + 22 * sin(depth * 7 * .pi + d.phases.2)
                                labels[i] = 4
                                continue
                            }
                            if d.kind == 5 { weight = q <= 1 ? 1 - 0.6 * q : 0 }   // dirt: soft towards its rim
                            else { weight = q <= 1 ? 1 : 0 }
                        }
                        guard weight != 0 else { continue }
                        shade[i] += d.contrast * weight
                        if d.kind != 5 || weight > 0.55 { labels[i] = UInt8(d.kind) }
                    }
                }
            }
            for i in 0..<rows * width {
                let value = shade[i] + 4 * Double(noise.normal(UInt64(y0 * width + i)))   // sensor noise
                pixels[i] = UInt8(max(0, min(255, value.rounded())))
            }
            try pixels.withUnsafeBufferPointer { try imageWriter.append($0.baseAddress!) }
            try labels.withUnsafeBufferPointer { try maskWriter.append($0.baseAddress!) }
        }
        try imageWriter.close()
        try maskWriter.close()
        return defects.map { ($0.kind, $0.box.x0, $0.box.y0, $0.box.x1, $0.box.y1) }
    }

    /// The columns whose pixel centres can lie within `r` of segment `s` in the row whose centre is at `py`; nil
    /// when none can.
    private func columnsReached(by s: (Double, Double, Double, Double), row py: Double, within r: Double) -> ClosedRange<Int>? {
        let (ax, ay, bx, by) = s
        guard py >= min(ay, by) - r, py <= max(ay, by) + r else { return nil }
        // The part of the segment inside the band py ± r, widened by r.
        var (t0, t1) = (0.0, 1.0)
        let dy = by - ay
        if abs(dy) > 1e-9 {
            let (ta, tb) = ((py - r - ay) / dy, (py + r - ay) / dy)
            (t0, t1) = (max(0, min(ta, tb)), min(1, max(ta, tb)))
        }
        let (xa, xb) = (ax + t0 * (bx - ax), ax + t1 * (bx - ax))
        return Int((min(xa, xb) - r - 1).rounded(.down))...Int((max(xa, xb) + r).rounded(.up))
    }

    private func distance(_ px: Double, _ py: Double, _ s: (Double, Double, Double, Double)) -> Double {
        let (ax, ay, bx, by) = s
        let (dx, dy) = (bx - ax, by - ay)
        let t = max(0, min(1, ((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12)))
        let (cx, cy) = (ax + t * dx - px, ay + t * dy - py)
        return (cx * cx + cy * cy).squareRoot()
    }
}
