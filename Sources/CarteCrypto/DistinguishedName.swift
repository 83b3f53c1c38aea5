import Foundation
import COpenSSL

/// An X.500 distinguished name (RFC 5280 §4.1.2.4) as relative distinguished names in RFC 4514 order: the most
/// specific RDN first, e.g. `CN=899700412345+SN=DURAND+GN=ALICE, title=Medecin, C=FR` (the DER holds them in
/// the reverse order: C first). A multi-valued RDN (`CN+SN+GN`, cps.md §8.4) is one inner array, kept in the
/// canonical order CN, SN, GN, others (a SET OF is unordered).
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible {
    /// One attribute type and value: `type` is OpenSSL's short name ("CN", "SN", "GN", "title", "C", "O",
    /// "OU", "ST", "L", "pseudonym", "serialNumber", …) or the dotted OID for unknown types.
    public struct Attribute: Sendable, Hashable {
        public var type: String
        public var value: String
        public init(_ type: String, _ value: String) { self.type = type; self.value = value }
    }

    /// RDNs, most specific first; each RDN holds one or more attributes.
    public var rdns: [[Attribute]]

    public init(rdns: [[Attribute]]) { self.rdns = rdns }

    /// All attributes, flattened in RFC 4514 order.
    public var attributes: [Attribute] { rdns.flatMap { $0 } }

    /// The first value of attribute `type` ("CN", "SN", …), in RFC 4514 order.
    public func first(_ type: String) -> String? {
        attributes.first { $0.type.caseInsensitiveCompare(type) == .orderedSame }?.value
    }

    /// RFC 4514 string with ", " between RDNs and "+" inside a multi-valued RDN; special characters escaped.
    public var description: String {
        rdns.map { rdn in rdn.map { "\($0.type)=\(Self.escape($0.value))" }.joined(separator: "+") }
            .joined(separator: ", ")
    }

    /// Parses an RFC 4514-like string (`CN=a+SN=b, title=x, C=FR`; "," or ", " between RDNs; `\,` `\+` `\\`
    /// escapes).
    /// - Throws: `CryptoError.malformed` for an empty name or an attribute without `=`.
    public init(parsing text: String) throws(CryptoError) {
        var rdns: [[Attribute]] = []
        var rdn: [Attribute] = []
        var current = ""
        var escaped = false
        func flushAttribute() throws(CryptoError) {
            let part = current.trimmingLeadingSpaces()
            guard let eq = part.firstIndex(of: "="), eq != part.startIndex else {
                throw .malformed(what: "distinguished name", reason: "'\(part)' is not TYPE=value")
            }
            rdn.append(Attribute(String(part[..<eq]), String(part[part.index(after: eq)...])))
            current = ""
        }
        for ch in text {
            if escaped { current.append(ch); escaped = false; continue }
            switch ch {
            case "\\": escaped = true
            case "+": try flushAttribute()
            case ",": try flushAttribute(); rdns.append(rdn); rdn = []
            default: current.append(ch)
            }
        }
        try flushAttribute()
        rdns.append(rdn)
        self.rdns = rdns.map(Self.canonicalOrder)
    }

    /// A SET OF has no order (DER sorts it by encoding): present a multi-valued RDN as CN, SN, GN, then the rest
    /// in their given order, so `CN=…+SN=…+GN=…` reads the same whatever the encoder did (cps.md §8.4).
    static func canonicalOrder(_ rdn: [Attribute]) -> [Attribute] {
        guard rdn.count > 1 else { return rdn }
        let rank = ["CN": 0, "SN": 1, "GN": 2]
        return rdn.enumerated().sorted { a, b in
            let ra = rank[a.element.type] ?? 3, rb = rank[b.element.type] ?? 3
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    static func escape(_ v: String) -> String {
        var out = ""
        for (i, ch) in v.enumerated() {
            if ",+\"\\<>;=".contains(ch) || (i == 0 && (ch == "#" || ch == " ")) { out.append("\\") }
            out.append(ch)
        }
        if out.hasSuffix(" ") { out.removeLast(); out += "\\ " }
        return out
    }

    /// Reads an OpenSSL `X509_NAME`.
    init(x509Name name: OpaquePointer) {
        var rdnsDER: [[Attribute]] = []
        var lastSet: Int32 = -1
        for i in 0..<X509_NAME_entry_count(name) {
            guard let entry = X509_NAME_get_entry(name, i) else { continue }
            let set = X509_NAME_ENTRY_set(entry)
            let type = objectName(X509_NAME_ENTRY_get_object(entry))
            let value = asn1StringToUTF8(X509_NAME_ENTRY_get_data(entry))
            if set != lastSet || rdnsDER.isEmpty { rdnsDER.append([]) }
            rdnsDER[rdnsDER.count - 1].append(Attribute(type, value))
            lastSet = set
        }
        rdns = rdnsDER.reversed().map(Self.canonicalOrder)
    }

    /// A new OpenSSL `X509_NAME` (caller frees with `X509_NAME_free`).
    func makeX509Name() throws(CryptoError) -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw .openSSLFailure("allocate a name") }
        for rdn in rdns.reversed() {
            for (i, a) in rdn.enumerated() {
                let bytes = Array(a.value.utf8)
                let ok = X509_NAME_add_entry_by_txt(name, a.type, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, i == 0 ? 0 : -1)
                guard ok == 1 else {
                    X509_NAME_free(name)
                    throw .openSSLFailure("add the attribute \(a.type)=\(a.value) to a name")
                }
            }
        }
        return name
    }
}

extension String {
    func trimmingLeadingSpaces() -> Substring { self.drop { $0 == " " } }
}

/// Short name of an ASN.1 object ("CN"), or its dotted OID when OpenSSL has no name for it.
func objectName(_ obj: OpaquePointer?) -> String {
    guard let obj else { return "?" }
    let nid = OBJ_obj2nid(obj)
    if nid != NID_undef, let sn = OBJ_nid2sn(nid) { return String(cString: sn) }
    return objectOID(obj)
}

/// Dotted OID of an ASN.1 object ("2.5.29.37").
func objectOID(_ obj: OpaquePointer?) -> String {
    guard let obj else { return "?" }
    var buf = [CChar](repeating: 0, count: 128)
    let n = OBJ_obj2txt(&buf, Int32(buf.count), obj, 1)
    guard n > 0 else { return "?" }
    return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// UTF-8 text of an ASN.1 string (any string type), "" when it cannot be converted.
func asn1StringToUTF8(_ s: UnsafeMutablePointer<ASN1_STRING>?) -> String {
    guard let s else { return "" }
    var out: UnsafeMutablePointer<UInt8>? = nil
    let n = ASN1_STRING_to_UTF8(&out, s)
    guard n >= 0, let out else { ERR_clear_error(); return "" }
    defer { CRYPTO_free(out, nil, 0) }
    return String(decoding: UnsafeBufferPointer(start: out, count: Int(n)), as: UTF8.self)
}

/// Raw bytes of an ASN.1 string (OCTET STRING, INTEGER magnitude, …).
func asn1Bytes(_ s: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
    guard let s, let p = ASN1_STRING_get0_data(s) else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: Int(ASN1_STRING_length(s))))
}
