// SVGInspection.swift — test helpers: XML well-formedness (FoundationXML's XMLDocument where it exists, a tag
// balance check otherwise) and a light reader for the elements and texts of the SVG our charts write.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The problem that makes `text` ill-formed XML, or nil when it is well-formed with an `svg` root element in the
/// SVG namespace.
func xmlProblem(_ text: String) -> String? {
    #if canImport(FoundationXML) || os(macOS)
    do {
        let document = try XMLDocument(xmlString: text, options: [])
        guard let root = document.rootElement() else { return "no root element" }
        guard root.localName == "svg" else { return "root element is \(root.name ?? "?")" }
        guard root.uri == "http://www.w3.org/2000/svg" else { return "root namespace is \(root.uri ?? "none")" }
        return nil
    } catch {
        return "\(error)"
    }
    #else
    return tagBalanceProblem(text)
    #endif
}

/// A stand-in for an XML parser: every start tag closed in order, no stray `<` or `&` in text.
func tagBalanceProblem(_ text: String) -> String? {
    var stack: [String] = []
    let tag = try! NSRegularExpression(pattern: "<(/?)([A-Za-z][\\w:.-]*)[^<>]*?(/?)>|<\\?xml[^>]*\\?>")
    let ns = text as NSString
    var last = 0
    for m in tag.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
        let between = ns.substring(with: NSRange(location: last, length: m.range.location - last))
        if between.contains("<") { return "stray '<' before offset \(m.range.location)" }
        last = m.range.location + m.range.length
        guard m.range(at: 2).location != NSNotFound else { continue }
        let name = ns.substring(with: m.range(at: 2))
        if ns.substring(with: m.range(at: 1)) == "/" {
            guard stack.popLast() == name else { return "unbalanced </\(name)>" }
        } else if ns.substring(with: m.range(at: 3)) != "/" {
            stack.append(name)
        }
    }
    return stack.isEmpty ? nil : "unclosed <\(stack.last!)>"
}

/// The elements of an SVG document as our charts write them (one element per tag, attributes in double quotes).
struct SVGDocument {
    struct Element { var name: String; var attributes: [String: String]; var text: String }
    let elements: [Element]

    init(_ svg: String) {
        let tag = try! NSRegularExpression(pattern: "<([A-Za-z][\\w:-]*)((?:\\s+[\\w:-]+=\"[^\"]*\")*)\\s*(/?)>")
        let attribute = try! NSRegularExpression(pattern: "([\\w:-]+)=\"([^\"]*)\"")
        let ns = svg as NSString
        var found: [Element] = []
        for m in tag.matches(in: svg, range: NSRange(location: 0, length: ns.length)) {
            let name = ns.substring(with: m.range(at: 1))
            let attrText = ns.substring(with: m.range(at: 2))
            var attributes: [String: String] = [:]
            let at = attrText as NSString
            for a in attribute.matches(in: attrText, range: NSRange(location: 0, length: at.length)) {
                attributes[at.substring(with: a.range(at: 1))] = unescape(at.substring(with: a.range(at: 2)))
            }
            var text = ""
            if ns.substring(with: m.range(at: 3)) != "/" {
                let after = m.range.location + m.range.length
                let end = ns.range(of: "<", range: NSRange(location: after, length: ns.length - after))
                if end.location != NSNotFound {
                    text = unescape(ns.substring(with: NSRange(location: after, length: end.location - after)))
                }
            }
            found.append(Element(name: name, attributes: attributes, text: text))
        }
        elements = found
    }

    func all(_ name: String, class className: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }
    }

    /// The tick labels of one axis ("x" or "y"), in order.
    func tickLabels(_ axis: String) -> [String] {
        var inside = false, labels: [String] = []
        for e in elements {
            if e.name == "g" { inside = e.attributes["class"] == "\(axis)-ticks" }
            else if inside && e.name == "text" && e.attributes["class"] == "tick" { labels.append(e.text) }
        }
        return labels
    }
}

func unescape(_ s: String) -> String {
    s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
        .replacingOccurrences(of: "&amp;", with: "&")
}
