import Authentication
import CarteCrypto
import CPS
import Foundation
import ISO7816

/// The professional flow over the Authentication module: `CPSAuthenticator.authenticate` (certificate path and
/// CRL first, tries left read without presenting anything, the PIN presented at most once — on the reader's pinpad,
/// or from `PINEntry` when the reader has none — then challenge–response; cps.md §5–§8), its result mapped to the
/// service's values. One authenticator per run, so its status stream has one consumer (this flow).
public struct CPSAuthenticationFlow: Sendable {
    public let policy: AuthenticationPolicy
    let certificateCache: CPSCertificateCache
    /// The holder confirmed the last try (never set by the service: a card with one try left is refused).
    let confirmLastTry: Bool

    public init(policy: AuthenticationPolicy, certificateCache: CPSCertificateCache = .shared) {
        self.policy = policy
        self.certificateCache = certificateCache
        self.confirmLastTry = false
    }

    /// Runs one authentication with the CPS in `transport`'s reader.
    /// - Returns: `.authenticated` (identity, assurance), `.refused` with the outcome's reason (and tries left), or
    ///   `.cardRemoved`.
    public func run(
        transport: any CardTransport, reader: ReaderDescriptor, atr: [UInt8], isTestCard: Bool = false,
        pinEntry: any PINEntry, progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        let known = KnownCard.kind(of: atr)
        let kind: CardKind = known == .unknown ? (reader.isContactless ? .cps3Contactless : .cps3) : known
        await progress(.recognised(kind, isTestCard: isTestCard))
        let authenticator = CPSAuthenticator(policy: policy, certificateCache: certificateCache)
        let watcher = Task {
            for await s in authenticator.status {
                if case .waitingForPinpad = s { await progress(.pinRequested(onPinpad: true)) }
                if case .finished = s { break }
            }
        }
        let readerName = reader.name
        let result = await authenticator.authenticate(transport: transport, confirmLastTry: confirmLastTry) {
            () async -> SecretPIN? in
            await progress(.pinRequested(onPinpad: false))
            guard let pin = await pinEntry.awaitPIN(reader: readerName) else { return nil }
            var bytes = pin.digits
            return SecretPIN(consuming: &bytes)
        }
        // The status stream ends its attempt with `.finished`: wait for the watcher so that a `pinRequested` it
        // forwards always reaches the service before the outcome.
        if Task.isCancelled { watcher.cancel() }
        await watcher.value
        return Self.outcome(result, contactless: reader.isContactless)
    }

    /// The service's value for an authentication result.
    public static func outcome(_ r: AuthenticationResult, contactless: Bool) -> CardFlowOutcome {
        switch r.outcome {
        case .authenticated:
            guard let i = r.identity else { return .refused(.failed) }
            let assurance: AssuranceLevel =
                switch r.assurance {
                case .cpsContactless?: .cpsContactless
                case .badge?: .badge
                default: contactless ? .cpsContactless : .cpsPin
                }
            return .authenticated(
                AuthenticatedProfessional(
                    idNat: i.idNat, rpps: i.rpps, nom: i.nom, prenom: i.prenom,
                    profession: i.profession.map(professionLabel) ?? "",
                    cardType: i.cardType ?? "CPS"),
                assurance: assurance)
        case .wrongPin: return .refused(.wrongPin, triesLeft: r.triesLeft)
        case .pinBlocked: return .refused(.pinBlocked, triesLeft: 0)
        case .lastTryNotConfirmed: return .refused(.lastTryNotConfirmed, triesLeft: r.triesLeft)
        case .pinEntryCancelled, .pinEntryTimeout: return .refused(.pinTimeout, triesLeft: r.triesLeft)
        case .pinFormatRejected: return .refused(.pinFormatRejected, triesLeft: r.triesLeft)
        case .revoked: return .refused(.revoked)
        case .expired: return .refused(.expired)
        case .untrusted, .crlStale, .wrongUsage: return .refused(.untrusted)
        case .signatureInvalid: return .refused(.signatureInvalid)
        case .identityMismatch: return .refused(.identityMismatch)
        case .cardSwapped: return .refused(.cardSwapped)
        case .cardRemoved: return .cardRemoved
        case .notSupported, .cpsRequired: return .refused(.notSupported)
        case .failed: return .refused(.failed)
        }
    }
}

/// The profession in words from its TRE_G15 code (cps.md §4 "Current nomenclatures"); other values as given.
public func professionLabel(_ code: String) -> String {
    switch code {
    case "10": return "Médecin"
    case "21": return "Pharmacien"
    case "40": return "Chirurgien-dentiste"
    case "50": return "Sage-femme"
    case "60": return "Infirmier"
    default: return code
    }
}

extension CPSAuthenticationFlow {
    /// The flow of a real terminal: trust anchors from the files of `trustAnchorDirectory` (`.pem`, `.crt`, `.cer`,
    /// `.der`) and the CRLs of `crlDirectory` (configuration `trust:`).
    /// - Throws: `TerminalError.configuration` when the directory holds no readable certificate.
    public static func configured(trustAnchorDirectory: String, crlDirectory: String?) throws(TerminalError)
        -> CPSAuthenticationFlow
    {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: trustAnchorDirectory)) ?? []
        let files = names.filter { ["pem", "crt", "cer", "der"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted().map { trustAnchorDirectory + "/" + $0 }
        guard !files.isEmpty else {
            throw .configuration(line: nil, reason: "trust.anchors: no certificate file in \(trustAnchorDirectory)")
        }
        do {
            let v = try CertificatePathValidator(trustAnchorFiles: files, crlDirectory: crlDirectory)
            return CPSAuthenticationFlow(policy: AuthenticationPolicy(validator: v))
        } catch {
            throw .configuration(line: nil, reason: "trust: \(error)")
        }
    }
}
