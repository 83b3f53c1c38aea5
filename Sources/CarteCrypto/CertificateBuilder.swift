import COpenSSL
import Foundation

/// What to put in a certificate being issued (X.509 v3, RFC 5280). Signed with SHA-256 + RSA.
public struct CertificateTemplate: Sendable {
    /// A non-standard extension given as its DER extnValue content.
    public struct CustomExtension: Sendable {
        public var oid: String
        public var critical: Bool
        public var value: [UInt8]
        public init(oid: String, critical: Bool = false, value: [UInt8]) {
            self.oid = oid; self.critical = critical; self.value = value
        }
    }

    public var subject: DistinguishedName
    /// Serial number, big-endian magnitude (1…20 bytes, RFC 5280 §4.1.2.2).
    public var serialNumber: [UInt8]
    public var notBefore: Date
    public var notAfter: Date
    /// keyUsage, marked critical; nil leaves it out.
    public var keyUsage: KeyUsage?
    /// extendedKeyUsage as dotted OIDs; empty leaves it out.
    public var extendedKeyUsage: [String] = []
    /// basicConstraints cA (the extension is critical).
    public var isCA: Bool = false
    /// basicConstraints pathLenConstraint for a CA; nil leaves it out.
    public var pathLength: Int? = nil
    /// Adds basicConstraints (cA=FALSE) to end-entity certificates too.
    public var basicConstraints: Bool = true
    /// cRLDistributionPoints URIs (one distribution point each).
    public var crlDistributionPoints: [String] = []
    /// certificatePolicies policy OIDs (no qualifiers).
    public var certificatePolicies: [String] = []
    /// subjectKeyIdentifier (SHA-1 of the key, RFC 5280 method 1) and authorityKeyIdentifier (keyid).
    public var keyIdentifiers: Bool = true
    public var customExtensions: [CustomExtension] = []

    public init(subject: DistinguishedName, serialNumber: [UInt8], notBefore: Date, notAfter: Date, keyUsage: KeyUsage? = nil) {
        self.subject = subject
        self.serialNumber = serialNumber
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyUsage = keyUsage
    }
}

/// Issues certificates for the test PKI (self-signed roots, intermediates, end entities).
public enum CertificateBuilder {
    /// A self-signed certificate (issuer = subject) signed by `key`.
    public static func selfSigned(_ template: CertificateTemplate, key: RSAPrivateKey) throws(CryptoError) -> Certificate {
        try build(template, subjectKey: key.pkey, issuer: nil, issuerKey: key)
    }

    /// A certificate for `subjectKey` issued by `issuer` (whose private key is `issuerKey`).
    /// - Throws: `CryptoError.invalidInput` when `issuerKey` does not match `issuer`; `.openSSL` on failures.
    public static func issue(
        _ template: CertificateTemplate, subjectKey: RSAPublicKey, issuer: Certificate, issuerKey: RSAPrivateKey
    ) throws(CryptoError) -> Certificate {
        guard try issuer.publicKey() == issuerKey.publicKey else {
            throw .invalidInput("the issuer key does not match the issuer certificate \(issuer.subject)")
        }
        return try build(template, subjectKey: subjectKey.pkey, issuer: issuer, issuerKey: issuerKey)
    }

    private static func build(
        _ t: CertificateTemplate, subjectKey: OpaquePointer, issuer: Certificate?, issuerKey: RSAPrivateKey
    ) throws(CryptoError) -> Certificate {
        guard !t.serialNumber.isEmpty, t.serialNumber.count <= 20 else {
            throw .invalidInput("a serial number is 1…20 bytes, got \(t.serialNumber.count)")
        }
        guard let x = X509_new() else { throw .openSSLFailure("allocate a certificate") }
        defer { X509_free(x) }
        let issuerX = try issuer.map { c throws(CryptoError) in try Certificate.decodeX509(c.der) }
        defer { if let issuerX { X509_free(issuerX) } }

        guard X509_set_version(x, 2) == 1 else { throw .openSSLFailure("set the certificate version") }
        try setSerial(t.serialNumber) { X509_set_serialNumber(x, $0) }
        let subjectName = try t.subject.makeX509Name()
        defer { X509_NAME_free(subjectName) }
        guard X509_set_subject_name(x, subjectName) == 1,
            X509_set_issuer_name(x, issuerX.map { X509_get_subject_name($0) } ?? subjectName) == 1
        else { throw .openSSLFailure("set the certificate names") }
        try setTime(t.notBefore) { X509_set1_notBefore(x, $0) }
        try setTime(t.notAfter) { X509_set1_notAfter(x, $0) }
        guard X509_set_pubkey(x, subjectKey) == 1 else { throw .openSSLFailure("set the certificate public key") }

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuerX ?? x, x, nil, nil, 0)
        func add(_ nid: Int32, _ value: String) throws(CryptoError) {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else {
                throw .openSSLFailure("build the extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x, ext, -1) == 1 else { throw .openSSLFailure("add an extension") }
        }
        if t.basicConstraints || t.isCA {
            var v = "critical,CA:" + (t.isCA ? "TRUE" : "FALSE")
            if t.isCA, let p = t.pathLength { v += ",pathlen:\(p)" }
            try add(NID_basic_constraints, v)
        }
        if let ku = t.keyUsage, !ku.isEmpty { try add(NID_key_usage, "critical," + ku.description) }
        if !t.extendedKeyUsage.isEmpty { try add(NID_ext_key_usage, t.extendedKeyUsage.joined(separator: ",")) }
        if t.keyIdentifiers {
            try add(NID_subject_key_identifier, "hash")
            if issuer != nil { try add(NID_authority_key_identifier, "keyid:always") }
        }
        if !t.certificatePolicies.isEmpty { try addPolicies(t.certificatePolicies, to: x) }
        if !t.crlDistributionPoints.isEmpty {
            try add(NID_crl_distribution_points, t.crlDistributionPoints.map { "URI:" + $0 }.joined(separator: ","))
        }
        for c in t.customExtensions { try addCustom(c) { X509_add_ext(x, $0, -1) } }

        guard X509_sign(x, issuerKey.pkey, EVP_sha256()) > 0 else { throw .openSSLFailure("sign the certificate") }
        return try Certificate(x509: x)
    }
}

func setSerial(_ bytes: [UInt8], _ apply: (UnsafeMutablePointer<ASN1_INTEGER>) -> Int32) throws(CryptoError) {
    guard let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw .openSSLFailure("convert a serial number") }
    defer { BN_free(bn) }
    guard let i = BN_to_ASN1_INTEGER(bn, nil) else { throw .openSSLFailure("convert a serial number") }
    defer { ASN1_INTEGER_free(i) }
    guard apply(i) == 1 else { throw .openSSLFailure("set a serial number") }
}

func setTime(_ date: Date, _ apply: (UnsafeMutablePointer<ASN1_TIME>) -> Int32) throws(CryptoError) {
    guard let t = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
        throw .openSSLFailure("encode the time \(date)")
    }
    defer { ASN1_TIME_free(t) }
    guard apply(t) == 1 else { throw .openSSLFailure("set a time") }
}

func addCustom(_ c: CertificateTemplate.CustomExtension, _ apply: (OpaquePointer) -> Int32) throws(CryptoError) {
    guard let obj = OBJ_txt2obj(c.oid, 1) else { throw .invalidInput("'\(c.oid)' is not a dotted OID") }
    defer { ASN1_OBJECT_free(obj) }
    guard let os = ASN1_OCTET_STRING_new() else { throw .openSSLFailure("allocate an extension value") }
    defer { ASN1_OCTET_STRING_free(os) }
    guard ASN1_OCTET_STRING_set(os, c.value, Int32(c.value.count)) == 1,
        let ext = X509_EXTENSION_create_by_OBJ(nil, obj, c.critical ? 1 : 0, os)
    else { throw .openSSLFailure("build the extension \(c.oid)") }
    defer { X509_EXTENSION_free(ext) }
    guard apply(ext) == 1 else { throw .openSSLFailure("add the extension \(c.oid)") }
}

/// certificatePolicies with bare policy identifiers (the conf-string form needs a config database).
func addPolicies(_ oids: [String], to x: OpaquePointer) throws(CryptoError) {
    guard let sk = CERTIFICATEPOLICIES_new() else { throw .openSSLFailure("allocate certificate policies") }
    defer { CERTIFICATEPOLICIES_free(sk) }
    for oid in oids {
        guard let obj = OBJ_txt2obj(oid, 1) else { throw .invalidInput("'\(oid)' is not a dotted OID") }
        guard let pi = POLICYINFO_new() else {
            ASN1_OBJECT_free(obj)
            throw .openSSLFailure("allocate a policy")
        }
        ASN1_OBJECT_free(pi.pointee.policyid)
        pi.pointee.policyid = obj
        guard OPENSSL_sk_push(sk, UnsafeRawPointer(pi)) > 0 else {
            POLICYINFO_free(pi)
            throw .openSSLFailure("add a policy")
        }
    }
    guard X509_add1_ext_i2d(x, NID_certificate_policies, UnsafeMutableRawPointer(sk), 0, UInt(X509V3_ADD_DEFAULT)) == 1 else {
        throw .openSSLFailure("add certificatePolicies")
    }
}
