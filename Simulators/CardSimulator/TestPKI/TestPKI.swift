import CarteCrypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The simulator's own certificate hierarchy, shaped like IGC-Santé (`../shared/specs/cps.md` §8, §9, §11.2 [D]):
/// root "SIMU AC RACINE IGC-SANTE FORT" → intermediate "SIMU AC IGC-SANTE FORT PERSONNES" → for every
/// professional persona of `personas.json` an authentication and a signature certificate (and a "technical"
/// certificate for cards with a contactless interface, cps.md §7), plus the CRLs of both CAs.
///
/// Created with OpenSSL at first use and cached outside the repository (never commit a private key):
/// `$CARTE_TEST_PKI_DIR`, else `$XDG_CACHE_HOME/carte/test-pki`, else `~/.cache/carte/test-pki`; the files live
/// in its `v1/` subdirectory. Creation is serialised across processes with `flock` on `<dir>/.lock` and published
/// with an atomic rename, so concurrent test processes share one cache. The whole hierarchy is regenerated when
/// the cache is missing or unreadable, when the personas fixture or the generator revision changed, or when a certificate that should be
/// valid expires within 30 days; the CRLs alone are re-issued when their nextUpdate is less than 7 days away.
///
/// Persona rules: `certificates.status == "revoked"` → every certificate of the persona is on the intermediate's
/// CRL with the persona's reason (e.g. keyCompromise), revoked 7 days before the hierarchy's base date;
/// `"expired"` → certificates valid from base − 3 years − 30 days to base − 30 days. Subjects:
/// CPS `CN=8<RPPS>+SN=<NOM>+GN=<PRÉNOM>, title=<profession>, C=FR`; CPE
/// `CN=<idNat>+SN=…+GN=…, title=<label>, OU=<IdNat_Struct>, O=<raison sociale>, C=FR` (cps.md §8.4). Key
/// usages: authentication digitalSignature+keyEncipherment with EKU clientAuth; signature nonRepudiation;
/// technical digitalSignature. Every card certificate carries extension 1.2.250.1.71.1.2.5 = `04 01 80` (TEST CPx).
public final class TestPKI: Sendable {
    /// Failures of the test PKI.
    public enum TestPKIError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownPersona(String)
        case fixture(String)
        case cache(path: String, reason: String)
        case crypto(CryptoError)

        public var description: String {
            switch self {
            case .unknownPersona(let id): return "persona '\(id)' has no card certificates in the test PKI"
            case .fixture(let why): return "the personas fixture cannot be used: \(why)"
            case .cache(let path, let why): return "test PKI cache \(path): \(why)"
            case .crypto(let e): return "test PKI: \(e)"
            }
        }
    }

    /// A persona's card keys and certificates (keys 0x82 authentication, 0x81 signature, technical key of DF 0002).
    public struct Credentials: Sendable {
        public let personaID: String
        public let authKey: RSAPrivateKey
        public let authCert: Certificate
        public let signKey: RSAPrivateKey
        public let signCert: Certificate
        /// Only for cards with a contactless interface.
        public let technicalKey: RSAPrivateKey?
        public let technicalCert: Certificate?
    }

    /// Certificate policy OIDs of the simulated hierarchy (under the ITU-T/ISO example arc 2.999: never real).
    public enum Policy {
        public static let certificationAuthority = "2.999.250.1.0"
        public static let authentication = "2.999.250.1.1"
        public static let signature = "2.999.250.1.2"
        public static let technical = "2.999.250.1.3"
    }

    /// The cache format version (subdirectory name).
    public static let cacheVersion = "v1"
    /// Revision of what the generator puts in the certificates: bump it whenever `TestPKIGenerator` changes
    /// (subjects, extensions, validity rules) so every existing cache is regenerated.
    static let generatorRevision = 1

    /// The `v1/` directory holding the files.
    public let directory: String
    public let root: Certificate
    public let intermediate: Certificate
    /// Private keys of the CAs, for tests that issue their own CRLs or certificates (stale, delta, forged…).
    public let rootKey: RSAPrivateKey
    public let intermediateKey: RSAPrivateKey
    /// CRL issued by the root (covers the intermediate; empty).
    public let rootCRL: CertificateRevocationList
    /// CRL issued by the intermediate (lists the revoked persona's certificates).
    public let intermediateCRL: CertificateRevocationList
    /// Directory with `root.crl` and `intermediate.crl` (DER), for `CertificatePathValidator(crlDirectory:)`.
    public var crlDirectory: String { directory + "/crl" }
    /// DER file of the root certificate (the trust anchor).
    public var rootCertificatePath: String { directory + "/root.cer" }
    /// Both complete CRLs.
    public var crls: [CertificateRevocationList] { [rootCRL, intermediateCRL] }
    /// The hierarchy's base date (00:00 UTC of its creation day); persona validity periods are relative to it.
    public let baseDate: Date
    private let credentialsByPersona: [String: Credentials]

    /// Persona ids that have credentials, sorted.
    public var personaIDs: [String] { credentialsByPersona.keys.sorted() }

    /// The keys and certificates of persona `id`.
    /// - Throws: `TestPKIError.unknownPersona` when the persona is not a professional card.
    public func credentials(forPersona id: String) throws(TestPKIError) -> Credentials {
        guard let c = credentialsByPersona[id] else { throw .unknownPersona(id) }
        return c
    }

    /// A validator trusting this hierarchy's root, with its intermediate and both CRLs.
    public func validator(crlGracePeriod: TimeInterval = 0) -> CertificatePathValidator {
        CertificatePathValidator(trustAnchors: [root], intermediates: [intermediate], crls: crls, crlGracePeriod: crlGracePeriod)
    }

    /// A CRL of the intermediate CA with chosen dates (for stale/delta tests), listing the revoked personas.
    public func issueIntermediateCRL(
        thisUpdate: Date, nextUpdate: Date, crlNumber: UInt64, deltaBaseCRLNumber: UInt64? = nil
    ) throws(TestPKIError) -> CertificateRevocationList {
        do {
            return try CRLBuilder.issue(
                CRLTemplate(
                    thisUpdate: thisUpdate, nextUpdate: nextUpdate, entries: intermediateCRL.entries, crlNumber: crlNumber,
                    deltaBaseCRLNumber: deltaBaseCRLNumber), issuer: intermediate, issuerKey: intermediateKey)
        } catch { throw .crypto(error) }
    }

    // MARK: Locating and sharing

    /// `$CARTE_TEST_PKI_DIR`, else `$XDG_CACHE_HOME/carte/test-pki`, else `~/.cache/carte/test-pki`.
    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["CARTE_TEST_PKI_DIR"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/carte/test-pki" }
        return NSHomeDirectory() + "/.cache/carte/test-pki"
    }

    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var sharedInstance: TestPKI?

    /// The process-wide test PKI in `defaultDirectory`, created or refreshed on first use (may take seconds:
    /// about 20 RSA-2048 key generations the first time).
    public static func shared() throws(TestPKIError) -> TestPKI {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if let s = sharedInstance, s.isFresh(at: Date()) { return s }
        let s = try load(directory: defaultDirectory)
        sharedInstance = s
        return s
    }

    /// Loads the test PKI cached under `directory` (its `v1/` subdirectory), creating or refreshing it first
    /// when needed.
    /// - Throws: `TestPKIError.cache` when the directory cannot be created or locked, `.crypto` when OpenSSL
    ///   fails, `.fixture` when personas.json is unusable.
    public static func load(directory base: String) throws(TestPKIError) -> TestPKI {
        let (fixture, fixtureData) = try TestPKIFixture.bundled()
        let fixtureDigest = Digest.sha256([UInt8](fixtureData) + Array("/generator-\(generatorRevision)".utf8)).cryptoHex
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw .cache(path: base, reason: "cannot be created: \(error.localizedDescription)") }

        let lock = try FileLock(path: base + "/.lock")
        defer { lock.unlock() }
        let dir = base + "/" + cacheVersion
        let now = Date()
        if let existing = try? TestPKI(reading: dir, fixture: fixture, fixtureDigest: fixtureDigest),
            existing.certificatesUsable(at: now)
        {
            if existing.isFresh(at: now) { return existing }
            try existing.reissueCRLs(at: now)
            return try TestPKI(reading: dir, fixture: fixture, fixtureDigest: fixtureDigest)
        }
        try TestPKIGenerator.generate(into: base, fixture: fixture, fixtureDigest: fixtureDigest, now: now)
        return try TestPKI(reading: dir, fixture: fixture, fixtureDigest: fixtureDigest)
    }

    /// True while both CRLs have more than 7 days before nextUpdate.
    func isFresh(at now: Date) -> Bool {
        let limit = now.addingTimeInterval(7 * 86_400)
        return crls.allSatisfy { ($0.nextUpdate ?? .distantFuture) > limit && $0.thisUpdate <= now }
    }

    /// True while every certificate meant to be valid stays valid for 30 more days.
    func certificatesUsable(at now: Date) -> Bool {
        let limit = now.addingTimeInterval(30 * 86_400)
        guard root.notAfter > limit, intermediate.notAfter > limit, baseDate <= now else { return false }
        return credentialsByPersona.values.allSatisfy { c in
            c.authCert.notAfter > limit || c.authCert.notAfter < baseDate  // expired persona: expired on purpose
        }
    }

    // MARK: Reading the cache

    init(reading dir: String, fixture: TestPKIFixture, fixtureDigest: String) throws(TestPKIError) {
        let manifest = try ManifestFile.read(dir)
        guard manifest.fixtureDigest == fixtureDigest else {
            throw .cache(path: dir, reason: "made from another personas fixture or generator revision")
        }
        directory = dir
        baseDate = Date(timeIntervalSince1970: manifest.baseDate)
        do {
            root = try Certificate(der: try readBytes(dir + "/root.cer"))
            intermediate = try Certificate(der: try readBytes(dir + "/intermediate.cer"))
            rootKey = try RSAPrivateKey(pem: try readText(dir + "/root.key.pem"))
            intermediateKey = try RSAPrivateKey(pem: try readText(dir + "/intermediate.key.pem"))
            rootCRL = try CertificateRevocationList(der: try readBytes(dir + "/crl/root.crl"))
            intermediateCRL = try CertificateRevocationList(der: try readBytes(dir + "/crl/intermediate.crl"))
            var creds: [String: Credentials] = [:]
            for p in fixture.professionals {
                let pd = dir + "/personas/" + p.id
                func pair(_ usage: String) throws(CryptoError) -> (RSAPrivateKey, Certificate) {
                    (try RSAPrivateKey(pem: try readText("\(pd)/\(usage).key.pem")), try Certificate(der: try readBytes("\(pd)/\(usage).cer")))
                }
                let auth = try pair("auth")
                let sign = try pair("sign")
                let tech = p.hasContactless ? try pair("tech") : nil
                creds[p.id] = Credentials(
                    personaID: p.id, authKey: auth.0, authCert: auth.1, signKey: sign.0, signCert: sign.1,
                    technicalKey: tech?.0, technicalCert: tech?.1)
            }
            credentialsByPersona = creds
        } catch { throw .crypto(error) }
    }

    /// Re-issues both CRLs (same entries, next CRL numbers), replacing the files atomically. Caller holds the lock.
    func reissueCRLs(at now: Date) throws(TestPKIError) {
        do {
            let (r, i) = try TestPKIGenerator.issueCRLs(
                root: root, rootKey: rootKey, intermediate: intermediate, intermediateKey: intermediateKey,
                entries: intermediateCRL.entries, now: now,
                rootNumber: (rootCRL.crlNumber ?? 0) + 1, intermediateNumber: (intermediateCRL.crlNumber ?? 0) + 1)
            try writeAtomically(r.der, to: crlDirectory + "/root.crl")
            try writeAtomically(i.der, to: crlDirectory + "/intermediate.crl")
        } catch { throw .crypto(error) }
    }
}

// MARK: - Files

struct ManifestFile: Codable {
    var version: Int
    var fixtureDigest: String
    var baseDate: TimeInterval
    var personas: [String]

    static func read(_ dir: String) throws(TestPKI.TestPKIError) -> ManifestFile {
        guard let data = FileManager.default.contents(atPath: dir + "/manifest.json"),
            let m = try? JSONDecoder().decode(ManifestFile.self, from: data)
        else { throw .cache(path: dir, reason: "no readable manifest.json") }
        return m
    }
}

func readBytes(_ path: String) throws(CryptoError) -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else { throw .file(path: path, reason: "cannot be read") }
    return [UInt8](d)
}

func readText(_ path: String) throws(CryptoError) -> String { String(decoding: try readBytes(path), as: UTF8.self) }

/// Writes `bytes` to a temporary file beside `path` (mode 0600) and renames it over `path`.
func writeAtomically(_ bytes: [UInt8], to path: String) throws(CryptoError) {
    let tmp = path + ".tmp-\(getpid())-\(UUID().uuidString)"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
        throw .file(path: tmp, reason: "cannot be written")
    }
    guard rename(tmp, path) == 0 else {
        unlink(tmp)
        throw .file(path: path, reason: "cannot be replaced (errno \(errno))")
    }
}

/// An exclusive advisory lock (`flock`) on a file, held until `unlock()`.
final class FileLock {
    private let fd: Int32

    init(path: String) throws(TestPKI.TestPKIError) {
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw .cache(path: path, reason: "cannot open the lock file (errno \(errno))") }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            close(fd)
            throw .cache(path: path, reason: "cannot be locked (errno \(errno))")
        }
        self.fd = fd
    }

    func unlock() {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
