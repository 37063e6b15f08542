// ReaderTests.swift — the data-set readers on well-formed files: IDX (raw and gzipped), CIFAR-10 records, HDF5
// sample files written and read back, reading chosen samples, and the real Fashion-MNIST.
import CHDF5
import HDF5
import Foundation
import Testing
@testable import Data

@Suite("Data-set readers")
struct ReaderTests {
    @Test("IDX raw and gzipped give the same data set", arguments: [false, true])
    func idx(gzipped: Bool) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let d = sampleData(count: 9)
        let paths = try writeIDX(d, in: dir, gzipped: gzipped)
        let read = try IDX.read(images: paths.images, labels: paths.labels)
        var expected = d
        expected.source = paths.images
        #expect(read == expected)
        let images = try IDX.readImages(paths.images)
        #expect(images.count == 9 && images.height == 3 && images.width == 4)
    }

    @Test("CIFAR-10: records of several files concatenated; the train and test splits of a directory")
    func cifar() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try writeRaw(dir.file("a.bin"), cifarRecords([3, 9, 0], seed: 1))
        try writeRaw(dir.file("b.bin"), cifarRecords([7, 1], seed: 2))
        let d = try CIFAR10.read([dir.file("a.bin"), dir.file("b.bin")])
        #expect(d.count == 5 && d.shape == [3, 32, 32] && d.classes == 10)
        #expect(d.labels == [3, 9, 0, 7, 1])
        let a = cifarRecords([3, 9, 0], seed: 1), b = cifarRecords([7, 1], seed: 2)
        #expect(Array(d.images[0..<3072]) == Array(a[1..<3073]))
        #expect(Array(d.images[3 * 3072..<4 * 3072]) == Array(b[1..<3073]))
        #expect(Array(d.images[4 * 3072..<5 * 3072]) == Array(b[3074..<6146]))

        for i in 1...5 { try writeRaw(dir.file("data_batch_\(i).bin"), cifarRecords([UInt8(i), 0], seed: i)) }
        try writeRaw(dir.file("test_batch.bin"), cifarRecords([4, 5, 6]))
        let train = try CIFAR10.read(directory: dir.path, split: .train)
        #expect(train.labels == [1, 0, 2, 0, 3, 0, 4, 0, 5, 0])
        #expect(train.source == dir.path + "/data_batch_{1..5}.bin")
        let test = try CIFAR10.read(directory: dir.path, split: .test)
        #expect(test.labels == [4, 5, 6] && test.images == Array(cifarRecords([4, 5, 6]).enumerated().filter { $0.offset % 3073 != 0 }.map(\.element)))
    }

    @Test("IDX → Dataset → sample file → Dataset; the temporary file is gone; attributes as documented")
    func roundTrip() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let paths = try writeIDX(sampleData(count: 10), in: dir, gzipped: true)
        let d = try IDX.read(images: paths.images, labels: paths.labels)
        let h5 = dir.file("train.h5")
        try SampleFile.write(d, to: h5)
        #expect(!FileManager.default.fileExists(atPath: h5 + ".tmp"))
        var expected = d
        expected.source = h5
        #expect(try SampleFile.read(h5) == expected)

        let reader = try SampleFileReader(path: h5)
        #expect(reader.count == 10 && reader.shape == [1, 3, 4] && reader.classes == 10)
        #expect(reader.origin == paths.images)
        HDF5Library.locked {
            let file = H5Fopen(h5, shim_H5F_ACC_RDONLY(), shim_H5P_DEFAULT())
            #expect(HDF5Library.attribute(file, "format") == .string("descent-samples"))
            #expect(HDF5Library.attribute(file, "version") == .integer(1))
            #expect(HDF5Library.attribute(file, "classes") == .integer(10))
            #expect(HDF5Library.attribute(file, "source") == .string(paths.images))
            H5Fclose(file)
        }
    }

    @Test("SampleFileReader reads exactly the requested samples, in the order asked",
          arguments: [[5, 0, 7], [0, 1, 2, 3], [9], [2, 3, 4, 8, 9], [7, 7, 1, 7], Array((0..<10).reversed()),
                      Array(stride(from: 0, to: 300, by: 3)), Array(stride(from: 299, through: 0, by: -2))])
    func readIndices(_ indices: [Int]) throws {  // the last two take more than one read (64 runs a read)
        let dir = try Scratch()
        defer { dir.remove() }
        let d = sampleData(count: 300, channels: 3, height: 5, width: 2)
        try SampleFile.write(d, to: dir.file("s.h5"))
        let reader = try SampleFileReader(path: dir.file("s.h5"))
        var images = [UInt8](repeating: 0, count: indices.count * d.sampleSize)
        var labels = [Int32](repeating: -1, count: indices.count)
        try reader.read(indices: indices, into: &images, labels: &labels)
        let expected = indices.flatMap { d.images[$0 * d.sampleSize..<($0 + 1) * d.sampleSize] }
        #expect(images == expected)
        #expect(labels == indices.map { d.labels[$0] })
        reader.close()
        #expect(throws: DataError(dir.file("s.h5"), "read after close")) {
            try reader.read(indices: [0], into: &images, labels: &labels)
        }
    }

    @Test("the real Fashion-MNIST: 60000 + 10000 samples of 1×28×28, labels 0..9, first training label 9")
    func fashionMNIST() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        let start = ContinuousClock.now
        let train = try IDX.read(images: dir + "/train-images-idx3-ubyte.gz", labels: dir + "/train-labels-idx1-ubyte.gz")
        let elapsed = ContinuousClock.now - start
        let test = try IDX.read(images: dir + "/t10k-images-idx3-ubyte.gz", labels: dir + "/t10k-labels-idx1-ubyte.gz")
        #expect(train.count == 60000 && test.count == 10000)
        #expect(train.shape == [1, 28, 28] && test.shape == [1, 28, 28])
        #expect(train.images.count == 60000 * 784 && test.images.count == 10000 * 784)
        #expect(train.labels.first == 9)
        #expect(Set(train.labels) == Set(0..<10) && Set(test.labels) == Set(0..<10))
        #expect(train.labels.filter { $0 == 0 }.count == 6000)  // Fashion-MNIST is balanced
        print("Fashion-MNIST train set read in \(elapsed)")
    }
}
