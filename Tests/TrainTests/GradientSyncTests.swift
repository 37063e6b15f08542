// GradientSyncTests.swift — the buckets in which the allreduce across nodes overlaps backward: cut only at layer
// starts, each at least the minimum (but the first layer's), listed in the order backward completes them.
import Testing
@testable import Train

@Suite("Gradient buckets")
struct GradientSyncTests {
    @Test func bucketsAreLayersMergedToTheMinimumFromTheEnd() {
        // Layers start at 0, 40, 90 and 95 of 100 floats.
        #expect(GradientSync.bucketRanges(100, layerStarts: [0, 40, 90, 95], minimum: 10) == [90..<100, 40..<90, 0..<40])
        #expect(GradientSync.bucketRanges(100, layerStarts: [95, 0, 40, 90], minimum: 1) == [95..<100, 90..<95, 40..<90, 0..<40])
        #expect(GradientSync.bucketRanges(100, layerStarts: [0, 40, 90, 95], minimum: 1_000) == [0..<100])
        // The first layer's bucket may be short: nothing comes before it to merge with.
        #expect(GradientSync.bucketRanges(100, layerStarts: [0, 5], minimum: 50) == [5..<100, 0..<5])
    }
}
