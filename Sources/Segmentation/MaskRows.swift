// MaskRows.swift — a class mask (one byte per pixel) read by bands of rows, whatever the file format: scoring and
// overviews stream masks through this, so a 500 MB mask never has to be in memory.
public protocol MaskRows: AnyObject {
    var path: String { get }
    var width: Int { get }
    var height: Int { get }
    /// Copies rows `rows` into `out` (`rows.count · width` bytes).
    func read(rows: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws
}

extension TIFFStripReader: MaskRows {}
