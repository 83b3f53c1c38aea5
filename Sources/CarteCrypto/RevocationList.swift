import COpenSSL
import Foundation

/// CRLReason codes (RFC 5280 §5.3.1).
public enum RevocationReason: Int, Sendable, Hashable, CustomStringConvertible {
    case unspecified = 0, keyCompromise = 1, cACompromise = 2, affiliationChanged = 3, superseded = 4
    case cessationOfOperation = 5, certificateHold = 6, removeFromCRL = 8, privilegeWithdrawn = 9, aACompromise = 10

    /// RFC 5280 name ("keyCompromise").
    public var description: String {
        switch self {
        case .unspecified: return "unspecified"
        case .keyCompromise: return "keyCompromise"
        case .cACompromise: return "cACompromise"
        case .affiliationChanged: return "affiliationChanged"
        case .superseded: return "superseded"
        case .cessationOfOperation: return "cessationOfOperation"
        case .certificateHold: return "certificateHold"
        case .removeFromCRL: return "removeFromCRL"
        case .privilegeWithdrawn: return "privilegeWithdrawn"
        case .aACompromise: return "aACompromise"
        }
    }

    /// Parses an RFC 5280 name ("keyCompromise"), as personas.json writes it.
    public init?(name: String) {
        let all: [RevocationReason] = [
            .unspecified, .keyCompromise, .cACompromise, .affiliationChanged, .superseded, .cessationOfOperation,
            .certificateHold, .removeFromCRL, .privilegeWithdrawn, .aACompromise,
        ]
        guard let r = all.first(where: { $0.description == name }) else { return nil }
        self = r
    }
}

/// A parsed X.509 v2 CRL (RFC 5280 §5), complete or delta.
public struct CertificateRevocationList: Sendable, Hashable {
    /// One revoked certificate.
    public struct Entry: Sendable, Hashable {
        /// Serial number, big-endian magnitude.
        public var serialNumber: [UInt8]
        public var revocationDate: Date
        /// CRL entry reasonCode, nil when absent.
        public var reason: RevocationReason?
        public var serialHex: String { serialNumber.cryptoHex }
        public init(serialNumber: [UInt8], revocationDate: Date, reason: RevocationReason?) {
            self.serialNumber = serialNumber; self.revocationDate = revocationDate; self.reason = reason
        }
    }

    public let der: [UInt8]
    public let issuer: DistinguishedName
    public let thisUpdate: Date
    public let nextUpdate: Date?
    public let entries: [Entry]
    /// cRLNumber, nil when absent (or larger than 64 bits).
    public let crlNumber: UInt64?
    /// deltaCRLIndicator's BaseCRLNumber; non-nil only for a delta CRL.
    public let deltaBaseCRLNumber: UInt64?
    public let authorityKeyIdentifier: [UInt8]?
    /// True for a delta CRL (deltaCRLIndicator present, RFC 5280 §5.2.4): never usable as a complete CRL.
    public let isDelta: Bool

    public static func == (a: Self, b: Self) -> Bool { a.der == b.der }
    public func hash(into h: inout Hasher) { h.combine(der) }

    /// The entry for `serialNumber`, if revoked here.
    public func entry(serialNumber: [UInt8]) -> Entry? {
        let s = Array(serialNumber.drop { $0 == 0 })
        return entries.first { Array($0.serialNumber.drop { $0 == 0 }) == s }
    }

    /// Parses a DER CRL.
    /// - Throws: `CryptoError.malformed` when the bytes are not exactly one CRL.
    public init(der: [UInt8]) throws(CryptoError) {
        let crl = try Self.decode(der)
        defer { X509_CRL_free(crl) }
        self.init(crl: crl, der: der)
    }

    /// Parses a PEM "X509 CRL".
    public init(pem: String) throws(CryptoError) {
        let crl = BIOBuffer.read(Array(pem.utf8)) { PEM_read_bio_X509_CRL($0, nil, noPassphrase, nil) }
        guard let crl else { throw .malformed(what: "PEM CRL", reason: CryptoError.drainErrorQueue()) }
        defer { X509_CRL_free(crl) }
        let der = try i2dBytes("encode a CRL") { i2d_X509_CRL(crl, $0) }
        self.init(crl: crl, der: der)
    }

    /// Reads a file holding a DER or PEM CRL.
    public static func load(path: String) throws(CryptoError) -> CertificateRevocationList {
        guard let data = FileManager.default.contents(atPath: path) else { throw .file(path: path, reason: "cannot be read") }
        let bytes = [UInt8](data)
        if bytes.first == 0x30 { return try CertificateRevocationList(der: bytes) }
        return try CertificateRevocationList(pem: String(decoding: bytes, as: UTF8.self))
    }

    /// Every CRL file (`*.crl`, `*.der`, `*.pem`) of a directory; unreadable files are reported in `skipped`.
    public static func loadDirectory(_ path: String) throws(CryptoError) -> (crls: [CertificateRevocationList], skipped: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            throw .file(path: path, reason: "is not a readable directory")
        }
        var crls: [CertificateRevocationList] = []
        var skipped: [String] = []
        for n in names.sorted() where n.hasSuffix(".crl") || n.hasSuffix(".der") || n.hasSuffix(".pem") {
            do throws(CryptoError) { crls.append(try load(path: path + "/" + n)) } catch { skipped.append(n) }
        }
        return (crls, skipped)
    }

    /// PEM "-----BEGIN X509 CRL-----".
    public var pem: String { pemEncode(der, label: "X509 CRL") }

    static func decode(_ der: [UInt8]) throws(CryptoError) -> OpaquePointer {
        var consumed = 0
        let crl: OpaquePointer? = der.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            var p: UnsafePointer<UInt8>? = base
            let r = d2i_X509_CRL(nil, &p, raw.count)
            consumed = p.map { $0 - base } ?? 0
            return r
        }
        guard let crl else { throw .malformed(what: "CRL", reason: CryptoError.drainErrorQueue()) }
        guard consumed == der.count else {
            X509_CRL_free(crl)
            throw .malformed(what: "CRL", reason: "\(der.count - consumed) bytes follow the CRL")
        }
        return crl
    }

    init(crl: OpaquePointer, der: [UInt8]) {
        self.der = der
        issuer = DistinguishedName(x509Name: X509_CRL_get_issuer(crl))
        thisUpdate = asn1TimeToDate(X509_CRL_get0_lastUpdate(crl)) ?? .distantPast
        nextUpdate = asn1TimeToDate(X509_CRL_get0_nextUpdate(crl))
        var list: [Entry] = []
        if let sk = X509_CRL_get_REVOKED(crl) {
            for i in 0..<OPENSSL_sk_num(sk) {
                guard let r = OpaquePointer(OPENSSL_sk_value(sk, i)) else { continue }
                var reason: RevocationReason? = nil
                if let raw = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nil, nil) {
                    let e = raw.assumingMemoryBound(to: ASN1_ENUMERATED.self)
                    reason = RevocationReason(rawValue: ASN1_ENUMERATED_get(e))
                    ASN1_ENUMERATED_free(e)
                }
                list.append(
                    Entry(
                        serialNumber: asn1IntegerBytes(X509_REVOKED_get0_serialNumber(r)),
                        revocationDate: asn1TimeToDate(X509_REVOKED_get0_revocationDate(r)) ?? .distantPast,
                        reason: reason))
            }
        }
        entries = list
        func integerExtension(_ nid: Int32) -> UInt64? {
            guard let raw = X509_CRL_get_ext_d2i(crl, nid, nil, nil) else { return nil }
            let i = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
            defer { ASN1_INTEGER_free(i) }
            var v: UInt64 = 0
            return ASN1_INTEGER_get_uint64(&v, i) == 1 ? v : nil
        }
        crlNumber = integerExtension(NID_crl_number)
        deltaBaseCRLNumber = integerExtension(NID_delta_crl)
        isDelta = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0
        if let raw = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, nil, nil) {
            let akid = raw.assumingMemoryBound(to: AUTHORITY_KEYID.self)
            authorityKeyIdentifier = akid.pointee.keyid.map { asn1Bytes($0) }
            AUTHORITY_KEYID_free(akid)
        } else {
            authorityKeyIdentifier = nil
        }
        ERR_clear_error()
    }
}

/// What to put in a CRL being issued (X.509 v2 CRL, signed with SHA-256 + RSA).
public struct CRLTemplate: Sendable {
    public var thisUpdate: Date
    public var nextUpdate: Date
    public var entries: [CertificateRevocationList.Entry]
    public var crlNumber: UInt64
    /// Non-nil makes a delta CRL: deltaCRLIndicator (critical) with this BaseCRLNumber.
    public var deltaBaseCRLNumber: UInt64?

    public init(
        thisUpdate: Date, nextUpdate: Date, entries: [CertificateRevocationList.Entry] = [], crlNumber: UInt64,
        deltaBaseCRLNumber: UInt64? = nil
    ) {
        self.thisUpdate = thisUpdate; self.nextUpdate = nextUpdate; self.entries = entries
        self.crlNumber = crlNumber; self.deltaBaseCRLNumber = deltaBaseCRLNumber
    }
}

/// Issues CRLs for the test PKI.
public enum CRLBuilder {
    /// A CRL issued by `issuer` (signed with `issuerKey`), with cRLNumber, authorityKeyIdentifier, entry reason
    /// codes, and deltaCRLIndicator when `template.deltaBaseCRLNumber` is set.
    public static func issue(
        _ t: CRLTemplate, issuer: Certificate, issuerKey: RSAPrivateKey
    ) throws(CryptoError) -> CertificateRevocationList {
        guard let crl = X509_CRL_new() else { throw .openSSLFailure("allocate a CRL") }
        defer { X509_CRL_free(crl) }
        let issuerX = try Certificate.decodeX509(issuer.der)
        defer { X509_free(issuerX) }
        guard X509_CRL_set_version(crl, 1) == 1, X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuerX)) == 1
        else { throw .openSSLFailure("set the CRL version and issuer") }
        try setTime(t.thisUpdate) { X509_CRL_set1_lastUpdate(crl, $0) }
        try setTime(t.nextUpdate) { X509_CRL_set1_nextUpdate(crl, $0) }
        for e in t.entries {
            guard let r = X509_REVOKED_new() else { throw .openSSLFailure("allocate a CRL entry") }
            var owned = true
            defer { if owned { X509_REVOKED_free(r) } }
            try setSerial(e.serialNumber) { X509_REVOKED_set_serialNumber(r, $0) }
            try setTime(e.revocationDate) { X509_REVOKED_set_revocationDate(r, $0) }
            if let reason = e.reason {
                guard let en = ASN1_ENUMERATED_new() else { throw .openSSLFailure("allocate a reason code") }
                defer { ASN1_ENUMERATED_free(en) }
                guard ASN1_ENUMERATED_set(en, reason.rawValue) == 1,
                    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, en, 0, 0) == 1
                else { throw .openSSLFailure("add a reason code") }
            }
            guard X509_CRL_add0_revoked(crl, r) == 1 else { throw .openSSLFailure("add a CRL entry") }
            owned = false
        }
        func addInteger(_ nid: Int32, _ v: UInt64, critical: Bool) throws(CryptoError) {
            guard let i = ASN1_INTEGER_new() else { throw .openSSLFailure("allocate an integer") }
            defer { ASN1_INTEGER_free(i) }
            guard ASN1_INTEGER_set_uint64(i, v) == 1, X509_CRL_add1_ext_i2d(crl, nid, i, critical ? 1 : 0, 0) == 1
            else { throw .openSSLFailure("add a CRL number extension") }
        }
        try addInteger(NID_crl_number, t.crlNumber, critical: false)
        if let base = t.deltaBaseCRLNumber { try addInteger(NID_delta_crl, base, critical: true) }
        if issuer.subjectKeyIdentifier != nil {
            var ctx = X509V3_CTX()
            X509V3_set_ctx(&ctx, issuerX, nil, nil, crl, 0)
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, NID_authority_key_identifier, "keyid:always") else {
                throw .openSSLFailure("build the CRL authorityKeyIdentifier")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_CRL_add_ext(crl, ext, -1) == 1 else { throw .openSSLFailure("add the CRL authorityKeyIdentifier") }
        }
        guard X509_CRL_sort(crl) == 1, X509_CRL_sign(crl, issuerKey.pkey, EVP_sha256()) > 0 else {
            throw .openSSLFailure("sign the CRL")
        }
        let der = try i2dBytes("encode the CRL") { i2d_X509_CRL(crl, $0) }
        return try CertificateRevocationList(der: der)
    }
}
