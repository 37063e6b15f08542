// SVG.swift — the small pieces every figure shares: XML escaping, coordinate and text-width formatting.
import Foundation

enum SVG {
    /// Text made safe for XML character data and attribute values: the five special characters escaped,
    /// characters XML 1.0 forbids (most C0 controls) replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                out.unicodeScalars.append(v < 0x20 || v == 0xFFFE || v == 0xFFFF ? "\u{FFFD}" : scalar)
            }
        }
        return out
    }

    /// A coordinate with one decimal and no trailing ".0" ("12", "12.5", "-3").
    static func num(_ v: Double) -> String {
        let s = String(format: "%.1f", v)
        if s == "-0.0" { return "0" }
        return s.hasSuffix(".0") ? String(s.dropLast(2)) : s
    }

    /// The approximate width in pixels of `text` in a sans-serif face at `size` px (0.6 em per character, a
    /// little generous for DejaVu Sans so that layouts err on the side of space).
    static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6
    }

    /// `text` shortened with "…" to at most `maxWidth` pixels at `size` px.
    static func truncate(_ text: String, maxWidth: Double, size: Double) -> String {
        guard textWidth(text, size: size) > maxWidth else { return text }
        let keep = max(1, Int(maxWidth / (size * 0.6)) - 1)
        return String(text.prefix(keep)) + "…"
    }
}
