// Components.swift — connected components of a class mask, labelled while the mask streams past band by band, top
// to bottom. A component is an 8-connected set of pixels of the same nonzero class (0 is background; two classes
// touching are two components). Only the previous row's labels are kept: each row's runs are joined to the
// previous row's components with union-find, and a component is finished — its statistics moved to the output —
// as soon as a row no longer touches it. Memory is O(width + number of components), whatever the image height.

/// A finished component: its class, bounding box (inclusive: x0…x1, y0…y1), pixel count, and whether any of its
/// pixels had its own class in the second ("hits") mask.
public struct Component: Sendable, Hashable {
    public var kind: Int
    public var x0: Int, y0: Int, x1: Int, y1: Int
    public var area: Int
    public var hit: Bool

    public init(kind: Int, x0: Int, y0: Int, x1: Int, y1: Int, area: Int, hit: Bool) {
        self.kind = kind; self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1; self.area = area; self.hit = hit
    }

    mutating func absorb(_ other: Component) {
        x0 = min(x0, other.x0); y0 = min(y0, other.y0); x1 = max(x1, other.x1); y1 = max(y1, other.y1)
        area += other.area
        hit = hit || other.hit
    }
}

public final class ComponentLabeller {
    public let width: Int
    /// Rows labelled so far (the next row's y).
    public private(set) var rows = 0
    private var finished: [Component] = []

    // The previous row: its classes and, per pixel, the index of its live component (−1 for background).
    private let previousKind: UnsafeMutablePointer<UInt8>
    private var previousLabel: UnsafeMutablePointer<Int32>
    private var currentLabel: UnsafeMutablePointer<Int32>
    private var liveCount = 0
    // Union-find nodes while a row is joined: 0..<liveCount are the live components, then the row's runs.
    // A row has at most `width` runs and at most `width` live components, hence 2 · width nodes.
    private var stats: UnsafeMutablePointer<Component>
    private var nextStats: UnsafeMutablePointer<Component>
    private let parent: UnsafeMutablePointer<Int32>
    private let newIndex: UnsafeMutablePointer<Int32>

    public init(width: Int) {
        precondition(width >= 1, "ComponentLabeller needs width ≥ 1")
        self.width = width
        let nodes = 2 * width
        previousKind = .allocate(capacity: width); previousKind.initialize(repeating: 0, count: width)
        previousLabel = .allocate(capacity: width); previousLabel.initialize(repeating: -1, count: width)
        currentLabel = .allocate(capacity: width); currentLabel.initialize(repeating: -1, count: width)
        let empty = Component(kind: 0, x0: 0, y0: 0, x1: 0, y1: 0, area: 0, hit: false)
        stats = .allocate(capacity: nodes); stats.initialize(repeating: empty, count: nodes)
        nextStats = .allocate(capacity: nodes); nextStats.initialize(repeating: empty, count: nodes)
        parent = .allocate(capacity: nodes); parent.initialize(repeating: 0, count: nodes)
        newIndex = .allocate(capacity: nodes); newIndex.initialize(repeating: -1, count: nodes)
    }

    deinit {
        previousKind.deallocate(); previousLabel.deallocate(); currentLabel.deallocate()
        stats.deallocate(); nextStats.deallocate(); parent.deallocate(); newIndex.deallocate()
    }

    /// Labels the next `count` rows (`count · width` bytes of classes). `hits`, if given, holds the same rows of a
    /// second mask (a prediction): a component is hit when any of its pixels has its class there.
    public func add(rows band: UnsafePointer<UInt8>, count: Int, hits: UnsafePointer<UInt8>?) {
        for r in 0..<count {
            addRow(band + r * width, hits: hits.map { $0 + r * width })
        }
    }

    /// Finishes the image: returns every component in the order they were completed (a component is completed
    /// at the first row below it that does not touch it), and starts afresh for a new image.
    public func finish() -> [Component] {
        for i in 0..<liveCount { finished.append(stats[i]) }
        let out = finished
        finished = []
        liveCount = 0; rows = 0
        previousKind.update(repeating: 0, count: width)
        previousLabel.update(repeating: -1, count: width)
        return out
    }

    /// The components completed so far (not yet returned), and forgets them: a caller that writes them out band
    /// by band keeps memory independent of how many components the image has.
    public func takeCompleted() -> [Component] {
        let out = finished
        finished.removeAll(keepingCapacity: true)
        return out
    }

    private func find(_ node: Int32) -> Int32 {
        var n = node
        while parent[Int(n)] != n {
            parent[Int(n)] = parent[Int(parent[Int(n)])]   // path halving
            n = parent[Int(n)]
        }
        return n
    }

    private func union(_ a: Int32, _ b: Int32) {
        let ra = find(a), rb = find(b)
        if ra != rb { parent[Int(max(ra, rb))] = min(ra, rb) }
    }

    private func addRow(_ row: UnsafePointer<UInt8>, hits: UnsafePointer<UInt8>?) {
        let y = rows
        for i in 0..<liveCount { parent[i] = Int32(i) }
        var nodes = liveCount

        // Runs of one class become nodes, joined to the previous row's components of that class that touch them
        // (columns a − 1 … b, so diagonal neighbours count).
        var x = 0
        while x < width {
            let kind = row[x]
            if kind == 0 { currentLabel[x] = -1; x += 1; continue }
            let a = x
            var hit = false
            while x < width && row[x] == kind {
                if let hits, hits[x] == kind { hit = true }
                x += 1
            }
            let node = Int32(nodes)
            nodes += 1
            parent[Int(node)] = node
            stats[Int(node)] = Component(kind: Int(kind), x0: a, y0: y, x1: x - 1, y1: y, area: x - a, hit: hit)
            for p in max(a - 1, 0)...min(x, width - 1) where previousKind[p] == kind {
                union(node, previousLabel[p])
            }
            for p in a..<x { currentLabel[p] = node }
        }

        // Each node's statistics go to its root; roots that hold a run of this row stay live (renumbered from 0),
        // the others are finished.
        for n in 0..<nodes {
            let root = Int(find(Int32(n)))
            if root != n { stats[root].absorb(stats[n]) }
            newIndex[n] = -1
        }
        var live = 0
        for n in liveCount..<nodes {
            let root = Int(find(Int32(n)))
            if newIndex[root] < 0 {
                newIndex[root] = Int32(live)
                nextStats[live] = stats[root]
                live += 1
            }
        }
        for n in 0..<liveCount where parent[n] == Int32(n) && newIndex[n] < 0 { finished.append(stats[n]) }
        for p in 0..<width where currentLabel[p] >= 0 { currentLabel[p] = newIndex[Int(find(currentLabel[p]))] }

        swap(&stats, &nextStats)
        swap(&previousLabel, &currentLabel)
        previousKind.update(from: row, count: width)
        liveCount = live
        rows += 1
    }
}
