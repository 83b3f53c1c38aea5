import CPS
import CarteCrypto
import Foundation
import ISO7816

/// What the decision trusts, and when it is made.
public struct AuthenticationPolicy: Sendable {
    /// Trust anchors, intermediates and CRLs (with the CRL grace period): `TestPKI.validator()` in tests and the
    /// demo, IGC-Santé roots and a CRL directory for real use (`CertificatePathValidator(trustAnchorFiles:…)`).
    public var validator: CertificatePathValidator
    /// The decision time source (validity periods and CRL freshness are judged at this time).
    public var now: @Sendable () -> Date

    public init(validator: CertificatePathValidator, now: @escaping @Sendable () -> Date = { Date() }) {
        self.validator = validator
        self.now = now
    }
}

/// Strong authentication with a CPS3, decided locally (issue 5; cps.md §5, §6.3 D, §7, §8).
///
/// Contact: certificate path validation first (no PIN is asked for a card that would be refused), card data
/// cross-checked with the certificate, tries left read WITHOUT presenting anything, the PIN presented at most once
/// (pinpad VERIFY_PIN_DIRECT whenever the reader has one, else the caller's keypad closure), then a fresh 32-byte
/// challenge from OpenSSL's RAND, DigestInfo(SHA-256) of it signed by the authentication key (MSE SET AT alg 02 key
/// 82 + INTERNAL AUTHENTICATE) and verified with the certificate's public key. Everything from the first read to the
/// signature runs in one transaction; a card swapped after the PIN cannot produce a signature that the first card's
/// certificate verifies (the serial is read again only then, to report `cardSwapped`). Only the authentication
/// certificate is read, once per card serial (`CPSCertificateCache`, with the PKCS#15 layout and the card type), so a
/// known card goes straight to: card serial, `CPS_NAME_PS`, tries left (VERIFY without data), VERIFY, MSE SET,
/// INTERNAL AUTHENTICATE. Contactless: the technical key's signature proves presence without PIN (`cps-contactless`).
///
/// Never presents a PIN on its own, never twice, never keeps one; one try left is refused unless confirmed.
public actor CPSAuthenticator {
    public let policy: AuthenticationPolicy
    private let cache: CPSCertificateCache
    /// Progress of the attempts run by this authenticator (one consumer).
    public nonisolated let status: AsyncStream<AuthenticationStatus>
    private let statusContinuation: AsyncStream<AuthenticationStatus>.Continuation

    public init(policy: AuthenticationPolicy, certificateCache: CPSCertificateCache = .shared) {
        self.policy = policy
        self.cache = certificateCache
        (status, statusContinuation) = AsyncStream.makeStream(of: AuthenticationStatus.self, bufferingPolicy: .bufferingNewest(64))
    }

    deinit { statusContinuation.finish() }

    private func emit(_ s: AuthenticationStatus) { statusContinuation.yield(s) }

    /// Runs one authentication with the card in `transport`'s reader.
    /// - Parameters:
    ///   - confirmLastTry: the holder was warned and confirmed that a wrong PIN will block the card.
    ///   - keypad: called at most once, only when the reader has no pinpad, to get the PIN typed on the host; return
    ///     `nil` when the holder gave none. The `SecretPIN` is released (wiped) when the attempt ends.
    /// - Returns: the result value; never throws.
    public func authenticate(
        transport: any CardTransport, confirmLastTry: Bool = false,
        keypad: @Sendable () async -> SecretPIN? = { nil }
    ) async -> AuthenticationResult {
        let time = policy.now()
        var attempt = Attempt(time: time)
        emit(.waitingForCard)
        let result = await run(transport: transport, confirmLastTry: confirmLastTry, keypad: keypad, attempt: &attempt)
        emit(.finished(result.outcome))
        return result
    }

    struct Attempt {
        var time: Date
        var certificate: CertificateSummary?
        var triesLeft: Int?
        var pinEntry: PINEntryMode?
        var atr: [UInt8] = []
        var serial: CPSSerialNumber?

        func result(
            _ o: AuthenticationOutcome, _ detail: String, revocation: RevocationReason? = nil
        ) -> AuthenticationResult {
            AuthenticationResult(
                outcome: o, triesLeft: triesLeft, certificate: certificate, pinEntry: pinEntry,
                revocationReason: revocation, time: time, detail: detail)
        }
    }

    private func run(
        transport: any CardTransport, confirmLastTry: Bool, keypad: @Sendable () async -> SecretPIN?,
        attempt a: inout Attempt
    ) async -> AuthenticationResult {
        let session: CPSSession
        do { session = try await CPSSession.connect(transport, certificateCache: cache) } catch {
            return await failure(error, attempt: a, transport: transport)
        }
        a.atr = session.atr
        emit(.processing)
        // One PC/SC transaction from the first read to the signature: no other application can slip commands (or
        // a reset) between the PIN and the challenge (SCardBeginTransaction; a FIFO lock on simulated readers).
        do { try await transport.beginTransaction() } catch {
            return await failure(.card(.transport(error)), attempt: a, transport: transport)
        }
        let result = await runLocked(session: session, transport: transport, confirmLastTry: confirmLastTry, keypad: keypad, attempt: &a)
        await transport.endTransaction()
        return result
    }

    private func runLocked(
        session: CPSSession, transport: any CardTransport, confirmLastTry: Bool,
        keypad: @Sendable () async -> SecretPIN?, attempt a: inout Attempt
    ) async -> AuthenticationResult {
        do throws(CPSError) {
            let iface = try await session.recognise()
            a.serial = try await session.readSerial()
            if iface == .contactless {
                return try await contactless(session: session, attempt: &a)
            }
            // Only the authentication certificate (the signature one is not needed), from the cache when this card
            // serial was read before: its key must still verify the card's signature over the challenge below.
            guard let auth = try await session.certificate(.authentication) else {
                return a.result(.failed, "the card has no authentication certificate")
            }
            a.certificate = CertificateSummary(auth.certificate)
            if let refusal = validate(auth.certificate, attempt: a) { return refusal }

            let holder = try await session.readHolderForAuthentication()
            let identity: ProfessionalIdentity
            switch Self.identity(certificate: auth.certificate, card: holder) {
            case .success(let i): identity = i
            case .failure(let why): return a.result(.identityMismatch, why.message)
            }

            // Tries left, read without presenting anything.
            let st = try await session.pinStatus(emptyVerifyFirst: true)
            a.triesLeft = st.triesLeft
            if st.triesLeft == 0 { return a.result(.pinBlocked, "the PIN is blocked; unblock it with the code de déblocage") }
            if st.triesLeft == 1 && !confirmLastTry {
                return a.result(
                    .lastTryNotConfirmed, "one PIN try left: a wrong PIN will block the card; confirm to go on")
            }

            // The PIN, once.
            let verification: PINVerification
            if let code = await Self.pinpadControlCode(transport) {
                a.pinEntry = .pinpad
                emit(.waitingForPinpad)
                verification = try await session.verifyOnPinpad(controlCode: code)
            } else {
                a.pinEntry = .keypad
                emit(.waitingForKeypad)
                guard let pin = await keypad() else { return a.result(.pinEntryTimeout, "no PIN was given; no try used") }
                verification = try await session.verify(pin: pin)
            }
            emit(.processing)
            switch verification {
            case .verified: a.triesLeft = st.maximumTries ?? max(st.triesLeft, 3)
            case .wrongPIN(let n):
                a.triesLeft = n
                return a.result(n == 0 ? .pinBlocked : .wrongPin, "wrong PIN, \(n) tries left")
            case .blocked:
                a.triesLeft = 0
                return a.result(.pinBlocked, "the PIN is blocked")
            case .pinpadCancelled: return a.result(.pinEntryCancelled, "PIN entry cancelled on the pinpad; no try used")
            case .pinpadTimeout: return a.result(.pinEntryTimeout, "no PIN typed on the pinpad in time; no try used")
            case .pinpadLengthRejected, .pinpadPINsDiffer:
                return a.result(.pinFormatRejected, "the pinpad refused the PIN entry (\(verification)); no try used")
            case .refused(let sw): return a.result(.failed, "the card refused the PIN with status \(sw)")
            }

            // The card the PIN went to must sign: everything runs in one transaction, and only the key of the
            // certificate read from (or cached for) this card serial verifies the signature. The serial is read
            // again only when the signature step fails, to tell a swapped card from a refusing one.
            let challenge: [UInt8]
            do { challenge = try SecureRandom.bytes(32) } catch { return a.result(.failed, "no random challenge: \(error)") }
            let digestInfo = DigestInfo.encode(.sha256, digest: Digest.sha256(challenge))
            let signed: Result<[UInt8], CPSError>
            do throws(CPSError) { signed = .success(try await session.internalAuthenticate(digestInfo)) } catch {
                signed = .failure(error)
            }
            let signature: [UInt8]
            switch signed {
            case .success(let s): signature = s
            case .failure(let error):
                if error.transportError == nil, await Self.otherCard(session, than: a.serial) {
                    return a.result(.cardSwapped, "another card answered after the PIN")
                }
                throw error
            }
            guard let key = try? auth.certificate.publicKey(), key.verifyPKCS1(signature: signature, digestInfo: digestInfo) else {
                if await Self.otherCard(session, than: a.serial) {
                    return a.result(.cardSwapped, "another card answered during the signature")
                }
                return a.result(.signatureInvalid, "the card's signature over the challenge does not verify with its certificate")
            }
            var r = a.result(.authenticated, "authenticated \(identity.cardType ?? "card") holder with PIN")
            r.assurance = .cpsPin
            r.identity = identity
            return r
        } catch {
            return await failure(error, attempt: a, transport: transport)
        }
    }

    /// The card now answers with another serial than `serial` (a failed read counts as no answer: false).
    static func otherCard(_ session: CPSSession, than serial: CPSSerialNumber?) async -> Bool {
        guard let serial, let now = try? await session.readSerial(fresh: true) else { return false }
        return now != serial
    }

    private func contactless(session: CPSSession, attempt a: inout Attempt) async throws(CPSError) -> AuthenticationResult {
        guard let tech = try await session.certificate(.technical) else {
            return a.result(.failed, "the contactless card has no technical certificate")
        }
        a.certificate = CertificateSummary(tech.certificate)
        if let refusal = validate(tech.certificate, attempt: a) { return refusal }
        let challenge: [UInt8]
        do { challenge = try SecureRandom.bytes(32) } catch { return a.result(.failed, "no random challenge: \(error)") }
        let digestInfo = DigestInfo.encode(.sha256, digest: Digest.sha256(challenge))
        let signature = try await session.internalAuthenticate(digestInfo)
        if try await session.readSerial(fresh: true) != a.serial { return a.result(.cardSwapped, "another card answered") }
        guard let key = try? tech.certificate.publicKey(), key.verifyPKCS1(signature: signature, digestInfo: digestInfo) else {
            return a.result(.signatureInvalid, "the technical key's signature does not verify with its certificate")
        }
        let c = CertificateHolder(tech.certificate)
        var r = a.result(.authenticated, "contactless CPS present (technical key, no PIN)")
        r.assurance = .cpsContactless
        r.identity = ProfessionalIdentity(
            idNat: c.idNat ?? "", rpps: c.rpps, nom: c.nom ?? "", prenom: c.prenom ?? "", profession: nil, cardType: nil,
            isHealthProfessional: c.isPersonalProfessionalID)
        return r
    }

    /// Path validation at the decision time with keyUsage digitalSignature; nil when valid.
    private func validate(_ cert: Certificate, attempt a: Attempt) -> AuthenticationResult? {
        let v = policy.validator.validate(cert, at: a.time, requiredKeyUsage: .digitalSignature)
        switch v.outcome {
        case .valid: return nil
        case .revoked(let r):
            return a.result(.revoked, "the certificate is revoked" + (r.map { " (\($0))" } ?? ""), revocation: r)
        case .expired, .notYetValid: return a.result(.expired, "the certificate is not valid at \(a.time): \(v.outcome)")
        case .untrusted: return a.result(.untrusted, "the certificate does not chain to a trusted root")
        case .crlStale: return a.result(.crlStale, "refused: \(v.detail)")
        case .crlMissing: return a.result(.crlStale, "refused: no usable complete CRL (\(v.detail))")
        case .signatureInvalid: return a.result(.signatureInvalid, "a certificate or CRL signature does not verify")
        case .wrongUsage: return a.result(.wrongUsage, "the certificate's key usage does not allow authentication")
        case .invalid(let why): return a.result(.untrusted, "the certificate is not acceptable: \(why)")
        }
    }

    /// Maps machinery errors to outcomes; a reset card is reconnected to tell a swap from a removal.
    private func failure(_ error: CPSError, attempt a: Attempt, transport: any CardTransport) async -> AuthenticationResult {
        switch error {
        case .cps4NotSupported: return a.result(.notSupported, error.description)
        case .notACPSCard: return a.result(.notSupported, error.description)
        case .invalidPINFormat(let why): return a.result(.pinFormatRejected, "\(why); no try used")
        default: break
        }
        switch error.transportError {
        case .cardRemoved?, .noCard?: return a.result(.cardRemoved, "the card was removed; start again")
        case .cardReset?:
            if let info = try? await transport.connect(preferred: [.t0, .t1]), !a.atr.isEmpty {
                if info.atr != a.atr { return a.result(.cardSwapped, "another card is in the reader (ATR changed)") }
                if let s = a.serial, let ch = try? await CPSSession.connect(transport, certificateCache: cache),
                    let now = try? await ch.readSerial(), now != s
                {
                    return a.result(.cardSwapped, "another card is in the reader (serial changed)")
                }
            }
            return a.result(.cardRemoved, "the card was reset during the attempt; start again")
        default: return a.result(.failed, error.description)
        }
    }

    /// The reader's VERIFY_PIN_DIRECT ioctl (PC/SC v2 part 10 GET_FEATURE_REQUEST), or nil without a pinpad.
    static func pinpadControlCode(_ transport: any CardTransport) async -> UInt32? {
        guard let answer = try? await transport.control(code: PCSCPart10.getFeatureRequest, data: []),
            let list = try? PCSCFeatureList(parsing: answer)
        else { return nil }
        return list[.verifyPINDirect]
    }

    struct Mismatch: Error { var message: String }

    /// The identity from the validated certificate, cross-checked with the card's holder data.
    static func identity(certificate: Certificate, card: CPSHolder) -> Result<ProfessionalIdentity, Mismatch> {
        let c = CertificateHolder(certificate)
        guard let cn = c.idNat, let sn = c.nom, let gn = c.prenom else {
            return .failure(Mismatch(message: "the certificate does not name its holder (CN, SN, GN)"))
        }
        func same(_ a: String?, _ b: String) -> Bool {
            guard let a else { return true }
            return a.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
                == b.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        }
        if let idNat = card.idNat, idNat != cn {
            return .failure(Mismatch(message: "the card's identifier differs from the certificate's"))
        }
        guard same(card.nomExercice, sn), same(card.prenomExercice, gn) else {
            return .failure(Mismatch(message: "the card's holder name differs from the certificate's"))
        }
        let type = card.cardType
        if let type, type.isHealthProfessional != c.isPersonalProfessionalID {
            return .failure(Mismatch(message: "the card type \(type.rawValue) does not match the certificate's identifier"))
        }
        let professional = (type?.isHealthProfessional ?? true) && c.isPersonalProfessionalID
        let profession = professional ? ((card.profession?.isEmpty == false) ? card.profession : c.title) : nil
        return .success(
            ProfessionalIdentity(
                idNat: cn, rpps: professional ? c.rpps : nil, nom: sn, prenom: gn, profession: profession,
                cardType: type?.rawValue ?? card.cardTypeCode, isHealthProfessional: professional))
    }
}
