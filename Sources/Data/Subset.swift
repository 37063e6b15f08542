// Subset.swift — choosing n training samples: the first n, or a stratified draw with every class represented in
// proportion to its share of the set (the seeded choice of which samples does not depend on the rank count).
import Tensor

public enum Subset {
    /// Indices (ascending) of `count` samples of `data`.
    public static func indices(of data: Dataset, count: Int, mode: DataOptions.SubsetMode, seed: UInt64) -> [Int] {
        if mode == .first || count >= data.count { return Array(0..<min(count, data.count)) }
        var byClass = [[Int]](repeating: [], count: data.classes)
        for (i, y) in data.labels.enumerated() { byClass[Int(y)].append(i) }
        // Largest-remainder apportionment of `count` over the classes.
        let exact = byClass.map { Double($0.count) * Double(count) / Double(data.count) }
        var take = exact.map { Int($0) }
        let remainder: [Double] = (0..<data.classes).map { exact[$0] - Double(take[$0]) }
        let order = (0..<data.classes).sorted { a, b in remainder[a] != remainder[b] ? remainder[a] > remainder[b] : a < b }
        var left = count - take.reduce(0, +)
        for c in order where left > 0 && take[c] < byClass[c].count { take[c] += 1; left -= 1 }
        var chosen: [Int] = []
        for c in 0..<data.classes where take[c] > 0 {
            let perm = RandomStream(seed: seed, name: "data/subset", index: UInt64(c)).permutation(byClass[c].count)
            chosen += perm.prefix(take[c]).map { byClass[c][$0] }
        }
        return chosen.sorted()
    }
}
