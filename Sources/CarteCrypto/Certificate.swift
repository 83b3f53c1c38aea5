import COpenSSL
import Foundation

/// keyUsage bits (RFC 5280 §4.2.1.3).
public struct KeyUsage: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let digitalSignature = KeyUsage(rawValue: 1 << 0)
    public static let nonRepudiation = KeyUsage(rawValue: 1 << 1)
    public static let keyEncipherment = KeyUsage(rawValue: 1 << 2)
    public static let dataEncipherment = KeyUsage(rawValue: 1 << 3)
    public static let keyAgreement = KeyUsage(rawValue: 1 << 4)
    public static let keyCertSign = KeyUsage(rawValue: 1 << 5)
    public static let cRLSign = KeyUsage(rawValue: 1 << 6)
    public static let encipherOnly = KeyUsage(rawValue: 1 << 7)
    public static let decipherOnly = KeyUsage(rawValue: 1 << 8)

    static let table: [(KeyUsage, String, UInt32)] = [
        (.digitalSignature, "digitalSignature", 0x0080), (.nonRepudiation, "nonRepudiation", 0x0040),
        (.keyEncipherment, "keyEncipherment", 0x0020), (.dataEncipherment, "dataEncipherment", 0x0010),
        (.keyAgreement, "keyAgreement", 0x0008), (.keyCertSign, "keyCertSign", 0x0004),
        (.cRLSign, "cRLSign", 0x0002), (.encipherOnly, "encipherOnly", 0x0001), (.decipherOnly, "decipherOnly", 0x8000),
    ]
    /// RFC 5280 names, comma-separated ("digitalSignature,keyEncipherment").
    public var description: String { Self.table.filter { contains($0.0) }.map(\.1).joined(separator: ",") }

    init(openSSLFlags f: UInt32) {
        var u: KeyUsage = []
        for (bit, _, flag) in Self.table where f & flag != 0 { u.insert(bit) }
        self = u
    }
}

/// Well-known object identifiers used by the certificates we read and build.
public enum CertificateOID {
    public static let clientAuth = "1.3.6.1.5.5.7.3.2"
    public static let emailProtection = "1.3.6.1.5.5.7.3.4"
    public static let anyPolicy = "2.5.29.32.0"
    /// ANS TRE_G01 product category extension; value OCTET STRING `80` = TEST CPx card (cps.md §8.3, §9).
    public static let ansProductCategory = "1.2.250.1.71.1.2.5"
}

/// A parsed X.509 v3 certificate (RFC 5280). A value: it keeps the DER and the fields read from it.
public struct Certificate: Sendable, Hashable, CustomStringConvertible {
    /// The DER encoding, exactly as given.
    public let der: [UInt8]
    /// Subject name (RFC 4514 order: `subject.description` is "CN=…+SN=…+GN=…, title=…, C=FR").
    public let subject: DistinguishedName
    /// Issuer name.
    public let issuer: DistinguishedName
    /// Serial number, big-endian magnitude (no sign byte).
    public let serialNumber: [UInt8]
    /// Validity period start (second precision).
    public let notBefore: Date
    /// Validity period end (second precision).
    public let notAfter: Date
    /// keyUsage, nil when the extension is absent.
    public let keyUsage: KeyUsage?
    /// extendedKeyUsage purposes as dotted OIDs (e.g. `1.3.6.1.5.5.7.3.2` clientAuth), empty when absent.
    public let extendedKeyUsage: [String]
    /// certificatePolicies policy identifiers as dotted OIDs, empty when absent.
    public let policies: [String]
    /// basicConstraints cA.
    public let isCA: Bool
    /// basicConstraints pathLenConstraint, nil when absent.
    public let pathLength: Int?
    /// subjectKeyIdentifier bytes (20 bytes when made by `CertificateBuilder`), nil when absent.
    public let subjectKeyIdentifier: [UInt8]?
    /// authorityKeyIdentifier keyIdentifier bytes, nil when absent.
    public let authorityKeyIdentifier: [UInt8]?
    /// URIs of the cRLDistributionPoints fullName entries.
    public let crlDistributionPoints: [String]

    /// Serial number as upper-case hex ("0A1B…").
    public var serialHex: String { serialNumber.cryptoHex }
    /// SHA-256 of the DER (32 bytes).
    public var sha256Fingerprint: [UInt8] { Digest.sha256(der) }
    /// True when subject == issuer (byte-wise on the names' attributes).
    public var isSelfIssued: Bool { subject == issuer }

    public var description: String { "certificate \(subject) (serial \(serialHex), issuer \(issuer))" }
    public static func == (a: Certificate, b: Certificate) -> Bool { a.der == b.der }
    public func hash(into h: inout Hasher) { h.combine(der) }

    /// Parses one DER certificate.
    /// - Throws: `CryptoError.malformed` when the bytes are not exactly one X.509 certificate.
    public init(der: [UInt8]) throws(CryptoError) {
        let x = try Self.decodeX509(der)
        defer { X509_free(x) }
        self.init(x509: x, der: der)
    }

    /// Parses the first certificate of a PEM text ("-----BEGIN CERTIFICATE-----").
    public init(pem: String) throws(CryptoError) {
        guard let first = try Self.certificates(pem: pem).first else {
            throw .malformed(what: "PEM certificate", reason: "no CERTIFICATE block found")
        }
        self = first
    }

    /// All certificates of a PEM text, in order.
    public static func certificates(pem: String) throws(CryptoError) -> [Certificate] {
        var out: [Certificate] = []
        var failure: CryptoError? = nil
        let done: Bool? = BIOBuffer.read(Array(pem.utf8)) { bio in
            while let x = PEM_read_bio_X509(bio, nil, noPassphrase, nil) {
                defer { X509_free(x) }
                do throws(CryptoError) { out.append(try Certificate(x509: x)) } catch { failure = error; return false }
            }
            ERR_clear_error()
            return true
        }
        if done == nil { throw .openSSLFailure("open a memory buffer") }
        if let failure { throw failure }
        return out
    }

    /// Reads a file holding one DER certificate or any number of PEM certificates.
    public static func load(path: String) throws(CryptoError) -> [Certificate] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .file(path: path, reason: "cannot be read") }
        let bytes = [UInt8](data)
        if bytes.first == 0x30 { return [try Certificate(der: bytes)] }
        let list = try certificates(pem: String(decoding: bytes, as: UTF8.self))
        if list.isEmpty { throw .malformed(what: "certificate file \(path)", reason: "neither DER nor PEM") }
        return list
    }

    /// PEM text of this certificate.
    public var pem: String { pemEncode(der, label: "CERTIFICATE") }

    /// The subject public key.
    /// - Throws: `CryptoError.malformed` when it is not an RSA key.
    public func publicKey() throws(CryptoError) -> RSAPublicKey {
        try withX509 { x throws(CryptoError) in
            guard let k = X509_get_pubkey(x) else { throw .malformed(what: "certificate key", reason: CryptoError.drainErrorQueue()) }
            try RSAPrivateKey.requireRSA(k)
            return RSAPublicKey(owning: k)
        }
    }

    /// The DER extnValue (content of the OCTET STRING) of the extension `oid`, nil when absent. For the ANS
    /// product category extension of a test card this is `04 01 80`.
    public func extensionValue(oid: String) -> [UInt8]? {
        try? withX509 { x throws(CryptoError) -> [UInt8]? in
            guard let obj = OBJ_txt2obj(oid, 1) else { ERR_clear_error(); return nil }
            defer { ASN1_OBJECT_free(obj) }
            let idx = X509_get_ext_by_OBJ(x, obj, -1)
            guard idx >= 0, let ext = X509_get_ext(x, idx) else { return nil }
            return asn1Bytes(X509_EXTENSION_get_data(ext))
        }
    }

    static func decodeX509(_ der: [UInt8]) throws(CryptoError) -> OpaquePointer {
        var consumed = 0
        let x: OpaquePointer? = der.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let r = d2i_X509(nil, &p, raw.count)
            consumed = p.map { $0 - base } ?? 0
            return r
        }
        guard let x else { throw .malformed(what: "certificate", reason: CryptoError.drainErrorQueue()) }
        guard consumed == der.count else {
            X509_free(x)
            throw .malformed(what: "certificate", reason: "\(der.count - consumed) bytes follow the certificate")
        }
        return x
    }

    func withX509<R>(_ body: (OpaquePointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
        let x = try Self.decodeX509(der)
        defer { X509_free(x) }
        return try body(x)
    }

    init(x509 x: OpaquePointer) throws(CryptoError) {
        let der = try i2dBytes("encode a certificate") { i2d_X509(x, $0) }
        self.init(x509: x, der: der)
    }

    init(x509 x: OpaquePointer, der: [UInt8]) {
        self.der = der
        subject = DistinguishedName(x509Name: X509_get_subject_name(x))
        issuer = DistinguishedName(x509Name: X509_get_issuer_name(x))
        serialNumber = asn1IntegerBytes(X509_get0_serialNumber(x))
        notBefore = asn1TimeToDate(X509_get0_notBefore(x)) ?? .distantPast
        notAfter = asn1TimeToDate(X509_get0_notAfter(x)) ?? .distantPast
        let ku = X509_get_key_usage(x)
        keyUsage = ku == UInt32.max ? nil : KeyUsage(openSSLFlags: ku)
        isCA = X509_get_extension_flags(x) & UInt32(EXFLAG_CA) != 0
        let pl = X509_get_pathlen(x)
        pathLength = pl >= 0 ? Int(pl) : nil
        subjectKeyIdentifier = X509_get0_subject_key_id(x).map { asn1Bytes($0) }
        authorityKeyIdentifier = X509_get0_authority_key_id(x).map { asn1Bytes($0) }

        var eku: [String] = []
        if let raw = X509_get_ext_d2i(x, NID_ext_key_usage, nil, nil) {
            let sk = OpaquePointer(raw)
            for i in 0..<OPENSSL_sk_num(sk) { eku.append(objectOID(OpaquePointer(OPENSSL_sk_value(sk, i)))) }
            EXTENDED_KEY_USAGE_free(sk)
        }
        extendedKeyUsage = eku

        var pols: [String] = []
        if let raw = X509_get_ext_d2i(x, NID_certificate_policies, nil, nil) {
            let sk = OpaquePointer(raw)
            for i in 0..<OPENSSL_sk_num(sk) {
                if let pi = OPENSSL_sk_value(sk, i)?.assumingMemoryBound(to: POLICYINFO.self) {
                    pols.append(objectOID(pi.pointee.policyid))
                }
            }
            CERTIFICATEPOLICIES_free(sk)
        }
        policies = pols

        var dps: [String] = []
        if let raw = X509_get_ext_d2i(x, NID_crl_distribution_points, nil, nil) {
            let sk = OpaquePointer(raw)
            for i in 0..<OPENSSL_sk_num(sk) {
                guard let dp = OPENSSL_sk_value(sk, i)?.assumingMemoryBound(to: DIST_POINT.self),
                    let name = dp.pointee.distpoint, name.pointee.type == 0,
                    let full = name.pointee.name.fullname
                else { continue }
                for j in 0..<OPENSSL_sk_num(full) {
                    guard let gn = OPENSSL_sk_value(full, j)?.assumingMemoryBound(to: GENERAL_NAME.self),
                        gn.pointee.type == GEN_URI
                    else { continue }
                    dps.append(asn1StringToUTF8(gn.pointee.d.uniformResourceIdentifier))
                }
            }
            CRL_DIST_POINTS_free(sk)
        }
        crlDistributionPoints = dps
        ERR_clear_error()
    }
}

/// Big-endian magnitude of an ASN.1 INTEGER (no sign byte, at least one byte).
func asn1IntegerBytes(_ i: UnsafePointer<ASN1_INTEGER>?) -> [UInt8] {
    let b = asn1Bytes(i)
    return b.isEmpty ? [0] : b
}

/// Date of an ASN.1 UTCTime/GeneralizedTime.
func asn1TimeToDate(_ t: UnsafePointer<ASN1_TIME>?) -> Date? {
    guard let t else { return nil }
    var tm = tm()
    guard ASN1_TIME_to_tm(t, &tm) == 1 else { ERR_clear_error(); return nil }
    return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
}

/// Runs an `i2d_*` encoder twice (length, then bytes).
func i2dBytes(_ what: String, _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) throws(CryptoError) -> [UInt8] {
    let n = encode(nil)
    guard n > 0 else { throw .openSSLFailure(what) }
    var out = [UInt8](repeating: 0, count: Int(n))
    let m = out.withUnsafeMutableBufferPointer { buf -> Int32 in
        var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
        return encode(&p)
    }
    guard m == n else { throw .openSSLFailure(what) }
    return out
}

/// PEM armour with 64-column base64.
func pemEncode(_ der: [UInt8], label: String) -> String {
    let b64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
    return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
}
