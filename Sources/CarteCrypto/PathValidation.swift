import COpenSSL
import Foundation

/// The decision of a certificate path validation (RFC 5280 §6 through OpenSSL's `X509_verify_cert`, plus our
/// CRL freshness and key-usage rules; issue 5 "Certificates").
public enum PathValidationOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The chain reaches a trust anchor, every certificate is in its validity period at the decision time, no
    /// certificate is revoked, every issuer's CRL is present, correctly signed and fresh.
    case valid
    /// A certificate of the chain is on its issuer's CRL (reason nil when the entry has no reason code).
    case revoked(RevocationReason?)
    /// A certificate's notAfter is before the decision time.
    case expired
    /// A certificate's notBefore is after the decision time.
    case notYetValid
    /// The chain does not end at a configured trust anchor (unknown issuer, other root, self-signed leaf).
    case untrusted
    /// An issuer's newest complete CRL has a nextUpdate before the decision time minus the grace period.
    case crlStale
    /// No complete CRL for an issuer of the chain (a delta CRL alone does not count), or none valid yet.
    case crlMissing
    /// A certificate or CRL signature does not verify with its issuer's key.
    case signatureInvalid
    /// The end-entity certificate lacks the required keyUsage bits.
    case wrongUsage
    /// Any other failure OpenSSL reports (its message).
    case invalid(String)

    public var description: String {
        switch self {
        case .valid: return "valid"
        case .revoked(let r): return "revoked" + (r.map { " (\($0))" } ?? "")
        case .expired: return "expired"
        case .notYetValid: return "not yet valid"
        case .untrusted: return "untrusted (no path to a trust anchor)"
        case .crlStale: return "the CRL is stale (nextUpdate passed)"
        case .crlMissing: return "no usable complete CRL"
        case .signatureInvalid: return "signature invalid"
        case .wrongUsage: return "key usage does not allow this use"
        case .invalid(let why): return "invalid: \(why)"
        }
    }
}

/// The outcome with what led to it.
public struct PathValidationResult: Sendable {
    public let outcome: PathValidationOutcome
    /// The chain OpenSSL built, end entity first and trust anchor last (may be partial on failure).
    public let chain: [Certificate]
    /// The certificate the failure is about (nil when valid).
    public let failingCertificate: Certificate?
    /// Human-readable detail (OpenSSL's verify error string, or our rule).
    public let detail: String
}

/// Validates certificates against trust anchors and CRLs at a chosen decision time, offline.
///
/// OpenSSL builds and checks the path (`X509_STORE`, `X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL`,
/// `X509_VERIFY_PARAM_set_time`), which covers signatures, validity periods, CA constraints and revocation of
/// every certificate by its issuer's CRL (the CRL's own signature checked with that issuer's key). We decide CRL
/// freshness ourselves so a grace period can apply, refuse delta CRLs as complete CRLs (they are only used to
/// find additional revocations), and check the end entity's keyUsage.
public struct CertificatePathValidator: Sendable {
    public var trustAnchors: [Certificate]
    public var intermediates: [Certificate]
    public var crls: [CertificateRevocationList]
    /// How long after a CRL's nextUpdate it is still accepted (seconds, default 0 = refuse once passed).
    public var crlGracePeriod: TimeInterval

    public init(
        trustAnchors: [Certificate], intermediates: [Certificate] = [], crls: [CertificateRevocationList] = [],
        crlGracePeriod: TimeInterval = 0
    ) {
        self.trustAnchors = trustAnchors
        self.intermediates = intermediates
        self.crls = crls
        self.crlGracePeriod = crlGracePeriod
    }

    /// Loads trust anchors from PEM/DER files and every CRL of `crlDirectory` (see
    /// `CertificateRevocationList.loadDirectory`).
    /// - Throws: `CryptoError.file` / `.malformed` for an unreadable anchor file or directory.
    public init(
        trustAnchorFiles: [String], intermediates: [Certificate] = [], crlDirectory: String?,
        crlGracePeriod: TimeInterval = 0
    ) throws(CryptoError) {
        var anchors: [Certificate] = []
        for f in trustAnchorFiles { anchors += try Certificate.load(path: f) }
        let crls = try crlDirectory.map { d throws(CryptoError) in try CertificateRevocationList.loadDirectory(d).crls } ?? []
        self.init(trustAnchors: anchors, intermediates: intermediates, crls: crls, crlGracePeriod: crlGracePeriod)
    }

    /// Validates `leaf` at `time`.
    /// - Parameters:
    ///   - leaf: the end-entity certificate (e.g. the card's authentication certificate).
    ///   - time: the decision time (validity periods and CRL freshness are judged against it).
    ///   - extraIntermediates: intermediates supplied with this leaf (e.g. read from the card), added to
    ///     `intermediates`.
    ///   - requiredKeyUsage: bits the leaf's keyUsage must contain (`.digitalSignature` for authentication); a
    ///     leaf without keyUsage fails too.
    public func validate(
        _ leaf: Certificate, at time: Date, extraIntermediates: [Certificate] = [], requiredKeyUsage: KeyUsage? = nil
    ) -> PathValidationResult {
        do throws(CryptoError) {
            return try run(leaf, time, extraIntermediates, requiredKeyUsage)
        } catch {
            return PathValidationResult(outcome: .invalid(error.description), chain: [], failingCertificate: leaf, detail: error.description)
        }
    }

    private func run(
        _ leaf: Certificate, _ time: Date, _ extra: [Certificate], _ requiredKeyUsage: KeyUsage?
    ) throws(CryptoError) -> PathValidationResult {
        guard let store = X509_STORE_new() else { throw .openSSLFailure("create a certificate store") }
        defer { X509_STORE_free(store) }
        for a in trustAnchors {
            let x = try Certificate.decodeX509(a.der)
            defer { X509_free(x) }
            guard X509_STORE_add_cert(store, x) == 1 else { throw .openSSLFailure("add a trust anchor") }
        }
        let complete = crls.filter { !$0.isDelta }
        for c in complete {
            let x = try CertificateRevocationList.decode(c.der)
            defer { X509_CRL_free(x) }
            guard X509_STORE_add_crl(store, x) == 1 else { throw .openSSLFailure("add a CRL") }
        }
        guard let untrusted = OPENSSL_sk_new_null() else { throw .openSSLFailure("allocate a certificate list") }
        var owned: [OpaquePointer] = []
        defer {
            OPENSSL_sk_free(untrusted)
            for x in owned { X509_free(x) }
        }
        for c in intermediates + extra {
            let x = try Certificate.decodeX509(c.der)
            owned.append(x)
            _ = OPENSSL_sk_push(untrusted, UnsafeRawPointer(x))
        }
        let leafX = try Certificate.decodeX509(leaf.der)
        defer { X509_free(leafX) }
        guard let ctx = X509_STORE_CTX_new() else { throw .openSSLFailure("create a verification context") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leafX, untrusted) == 1 else { throw .openSSLFailure("start a verification") }
        let param = X509_STORE_CTX_get0_param(ctx)
        X509_VERIFY_PARAM_set_time(param, time_t(time.timeIntervalSince1970.rounded(.down)))
        X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL))
        // CRL freshness is our decision (grace period): OpenSSL's "CRL has expired" is let through here.
        X509_STORE_CTX_set_verify_cb(ctx) { ok, ctx in
            if ok == 0, let ctx, X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED { return 1 }
            return ok
        }
        let verified = X509_verify_cert(ctx) == 1

        var chain: [Certificate] = []
        if let sk = X509_STORE_CTX_get0_chain(ctx) {
            for i in 0..<OPENSSL_sk_num(sk) {
                if let x = OpaquePointer(OPENSSL_sk_value(sk, i)), let c = try? Certificate(x509: x) { chain.append(c) }
            }
        }
        ERR_clear_error()

        guard verified else {
            let code = X509_STORE_CTX_get_error(ctx)
            let message = String(cString: X509_verify_cert_error_string(Int(code)))
            let failing = X509_STORE_CTX_get_current_cert(ctx).flatMap { try? Certificate(x509: $0) }
            let outcome: PathValidationOutcome
            switch code {
            case X509_V_ERR_CERT_REVOKED:
                outcome = .revoked(failing.flatMap { revocationEntry(of: $0, in: complete)?.reason })
            case X509_V_ERR_CERT_HAS_EXPIRED: outcome = .expired
            case X509_V_ERR_CERT_NOT_YET_VALID: outcome = .notYetValid
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_UNTRUSTED, X509_V_ERR_CERT_REJECTED:
                outcome = .untrusted
            case X509_V_ERR_UNABLE_TO_GET_CRL, X509_V_ERR_CRL_NOT_YET_VALID, X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
                outcome = .crlMissing
            case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_CRL_SIGNATURE_FAILURE,
                X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE,
                X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
                outcome = .signatureInvalid
            default: outcome = .invalid(message)
            }
            return PathValidationResult(outcome: outcome, chain: chain, failingCertificate: failing, detail: message)
        }

        // Our rules on top of OpenSSL's success, in chain order (end entity first).
        for cert in chain where !cert.isSelfIssued {
            let forIssuer = complete.filter { $0.issuer == cert.issuer && $0.thisUpdate <= time }
            guard let newest = forIssuer.max(by: { $0.thisUpdate < $1.thisUpdate }) else {
                return PathValidationResult(
                    outcome: .crlMissing, chain: chain, failingCertificate: cert,
                    detail: "no complete CRL of \(cert.issuer) valid at the decision time")
            }
            if let next = newest.nextUpdate, next.addingTimeInterval(crlGracePeriod) < time {
                return PathValidationResult(
                    outcome: .crlStale, chain: chain, failingCertificate: cert,
                    detail: "the CRL of \(cert.issuer) was due at \(next) (grace period \(Int(crlGracePeriod)) s)")
            }
            // Delta CRLs add revocations on top of their base, never replace it.
            let deltas = crls.filter {
                $0.isDelta && $0.issuer == cert.issuer && $0.thisUpdate <= time
                    && ($0.deltaBaseCRLNumber ?? .max) <= (newest.crlNumber ?? 0)
                    && ($0.nextUpdate.map { $0.addingTimeInterval(crlGracePeriod) >= time } ?? true)
            }
            if let e = revocationEntry(of: cert, in: deltas), e.reason != .removeFromCRL {
                return PathValidationResult(
                    outcome: .revoked(e.reason), chain: chain, failingCertificate: cert,
                    detail: "certificate \(cert.serialHex) is listed on a delta CRL of \(cert.issuer)")
            }
        }
        if let required = requiredKeyUsage {
            guard let ku = leaf.keyUsage, ku.isSuperset(of: required) else {
                return PathValidationResult(
                    outcome: .wrongUsage, chain: chain, failingCertificate: leaf,
                    detail: "keyUsage \(leaf.keyUsage?.description ?? "absent") lacks \(required)")
            }
        }
        return PathValidationResult(outcome: .valid, chain: chain, failingCertificate: nil, detail: "ok")
    }

    private func revocationEntry(of cert: Certificate, in lists: [CertificateRevocationList]) -> CertificateRevocationList.Entry? {
        for l in lists where l.issuer == cert.issuer {
            if let e = l.entry(serialNumber: cert.serialNumber) { return e }
        }
        return nil
    }
}
