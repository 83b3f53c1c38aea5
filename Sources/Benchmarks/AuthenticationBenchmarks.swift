import Authentication
import Badges
import CPS
import CardSimulator
import Foundation
import ISO7816

/// The `cpsAuthentication` flow of `carte bench`: `CPSAuthenticator.authenticate` (recognise, card serial, PKCS#15
/// discovery, certificates, holder data, tries left, PIN typed on the host keypad, fresh challenge signed by the
/// authentication key; cps.md §5, §6.3 D) with `cps3-durand` in an in-process contact reader (4 MHz, PPS), against
/// the test PKI, with an empty certificate cache (the first authentication of this card on this host).
///
/// Functional bytes: the authentication certificate's DER, the identity fields the decision uses (idNat, RPPS,
/// nom, prénom, profession, card type: value + 2 bytes of tag and length each), one byte of tries left, the PIN
/// digits, the DigestInfo of the challenge (51 bytes for SHA-256) and the signature (the modulus length). With the
/// cache warm, what the cache gives (the certificate, the card type) is not functional: it is not read.
public enum CPSAuthenticationBenchmark {
    /// Runs the flow once; `warm` runs it a second time on the same card with the certificate cache filled by the
    /// first run, and reports that second run.
    public static func run(persona id: String = "cps3-durand", warm: Bool = false) async throws(BenchError) -> FlowFigures {
        let pki: TestPKI
        do { pki = try TestPKI.shared() } catch { throw .flowFailed("cpsAuthentication", "test PKI: \(error)") }
        let persona: ProfessionalPersona
        do {
            guard case .professional(let p) = try PersonaCatalog.persona(id) else {
                throw BenchError.flowFailed("cpsAuthentication", "\(id) is not a professional's card")
            }
            persona = p
        } catch let e as BenchError {
            throw e
        } catch {
            throw .flowFailed("cpsAuthentication", "\(error)")
        }
        let configuration = SimulatedReaderConfiguration.contact()
        let reader = SimulatedReader(name: "bench CPS reader", configuration: configuration)
        do { try await reader.insert(persona: id) } catch { throw .flowFailed("cpsAuthentication", error.description) }
        let cache = CPSCertificateCache()
        let authenticator = CPSAuthenticator(policy: AuthenticationPolicy(validator: pki.validator()), certificateCache: cache)
        let digits = persona.pin.asciiBytes
        let keypad: @Sendable () async -> SecretPIN? = {
            var b = digits
            return SecretPIN(consuming: &b)
        }
        var result = await authenticator.authenticate(transport: reader, keypad: keypad)
        if warm {
            await reader.disconnect(.reset)
            await reader.resetStatistics()
            result = await authenticator.authenticate(transport: reader, keypad: keypad)
        }
        await reader.disconnect(.reset)
        guard result.outcome == .authenticated else {
            throw .flowFailed("cpsAuthentication", "\(result.outcome.rawValue): \(result.detail)")
        }
        let log = await reader.transcript
        var functional = 0
        var parts: [String: Int] = [:]
        // With the cache warm the certificate is not needed from the card: it is not functional then.
        if !warm, let sha = result.certificate.flatMap({ [UInt8](hex: $0.sha256) }),
            let c = await cache.certificate(sha256: sha)
        {
            parts["certificateDER"] = c.certificate.der.count
        }
        if let i = result.identity {
            // The card type comes from CPS_ID_CARD, which is cached with the certificate by card serial: with the
            // cache warm it is not read from the card, so it is not functional then either.
            let fields = [i.idNat, i.rpps, i.nom, i.prenom, i.profession, warm ? nil : i.cardType].compactMap { $0 }
                .filter { !$0.isEmpty }
            parts["holderData"] = fields.reduce(0) { $0 + $1.utf8.count + 2 }
        }
        parts["triesLeft"] = 1
        parts["pin"] = digits.count
        parts["digestInfo"] = 51
        // The signature: the answer data of INTERNAL AUTHENTICATE (INS 88) and of the GET RESPONSEs completing it.
        parts["signature"] = FlowMeasure.answerData(of: 0x88, in: log)
        functional = parts.values.reduce(0, +)
        var f = FlowMeasure.figures(
            log: log, wire: await reader.wireParameters, capabilities: configuration.capabilities,
            functionalBytes: functional,
            note: "\(id)\(warm ? " (certificate cache warm)" : ""): functional bytes "
                + parts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        f.breakdownMs = FlowMeasure.byInstruction(log)
        return f
    }
}

/// The `badgeAuthentication` flow of `carte bench`: `BadgeSession.authenticateBadge` (GET VERSION, SELECT
/// APPLICATION, AES authentication with the key diversified from the site master key (AN10922), badge file read
/// under the session MAC) with `desfire-durand` on an in-process contactless reader (ISO/IEC 14443 at 106 kbit/s).
///
/// Functional bytes: the AES authentication tokens (16 + 32 + 16 bytes) and the badge number.
public enum BadgeAuthenticationBenchmark {
    public static func run(persona id: String = "desfire-durand") async throws(BenchError) -> FlowFigures {
        let site: SitePersona
        do { site = try PersonaCatalog.personas().site } catch { throw .flowFailed("badgeAuthentication", error.description) }
        guard let key = [UInt8](hex: String(decoding: site.desfireMasterKeyAES128.asciiBytes, as: UTF8.self)), key.count == 16
        else { throw .flowFailed("badgeAuthentication", "the site master key of personas.json is not 16 hex bytes") }
        let configuration = SimulatedReaderConfiguration.contactless()
        let reader = SimulatedReader(name: "bench badge reader", configuration: configuration)
        do { try await reader.insert(persona: id) } catch { throw .flowFailed("badgeAuthentication", error.description) }
        let identity: BadgeIdentity
        do {
            let info = try await reader.connect(preferred: [.t1, .t0])
            identity = try await BadgeSession(transport: reader, atr: info.atr).authenticateBadge(siteMasterKey: key)
        } catch {
            throw .flowFailed("badgeAuthentication", "\(error)")
        }
        await reader.disconnect(.leave)
        let log = await reader.transcript
        let number = identity.badgeNumber?.utf8.count ?? 0
        var f = FlowMeasure.figures(
            log: log, wire: await reader.wireParameters, capabilities: configuration.capabilities,
            functionalBytes: 64 + number,
            note: "\(id): badge number of \(number) characters, AES authentication tokens 64 bytes")
        f.breakdownMs = FlowMeasure.byInstruction(log)
        return f
    }
}

/// Shared arithmetic of the flows.
enum FlowMeasure {
    static func figures(
        log: [TranscriptEntry], wire: WireParameters, capabilities: ReaderCapabilities, functionalBytes: Int, note: String
    ) -> FlowFigures {
        let atr = log.first { $0.kind == .atr }?.response ?? []
        let t = TranscriptAccounting.totals(log)
        let negotiated = link(wire)
        let limitLink = TranscriptAccounting.fastestLink(atr: atr, reader: capabilities, contactless: wire.contactless)
        let limit = TranscriptAccounting.limitMilliseconds(bytes: functionalBytes, link: limitLink)
        let wireMs = Double(t.wireNs) / 1_000_000
        return FlowFigures(
            apdus: t.apdus, bytesToCard: t.toCard, bytesFromCard: t.fromCard, wireTimeMs: wireMs, limitMs: limit,
            wireTimeToLimitRatio: limit > 0 ? wireMs / limit : 0, functionalBytes: functionalBytes,
            atrMs: Double(t.atrNs) / 1_000_000, ppsCount: t.pps, ppsMs: Double(t.ppsNs) / 1_000_000,
            negotiated: negotiated, limitLink: limitLink, breakdownMs: [:], note: note)
    }

    /// The answer data of the last command with instruction `ins`, GET RESPONSE continuations included (T=0).
    static func answerData(of ins: UInt8, in log: [TranscriptEntry]) -> Int {
        let apdus = log.filter { $0.kind == .apdu && $0.error == nil && $0.command.count > 1 }
        guard let i = apdus.lastIndex(where: { $0.command[1] == ins }) else { return 0 }
        var n = max(0, apdus[i].response.count - 2)
        var j = i + 1
        while j < apdus.count && apdus[j].command[1] == 0xC0 {
            n += max(0, apdus[j].response.count - 2)
            j += 1
        }
        return n
    }

    /// The link in use, as `LinkFigures`.
    static func link(_ wire: WireParameters) -> LinkFigures {
        if wire.contactless { return LinkFigures(transmissionProtocol: "14443", fi: 128, di: 1, clockKHz: 13560) }
        return LinkFigures(
            transmissionProtocol: wire.transmissionProtocol.description, fi: wire.fi, di: wire.di, clockKHz: wire.clockKHz)
    }

    /// Wire time by instruction (SELECT, READ BINARY, GET RESPONSE, VERIFY, …), milliseconds.
    static func byInstruction(_ log: [TranscriptEntry]) -> [String: Double] {
        var out: [String: Double] = [:]
        for e in log {
            let name: String
            switch e.kind {
            case .atr: continue
            case .pps: name = "pps"
            case .control: name = "control"
            case .readerPseudoAPDU: name = "readerPseudoAPDU"
            case .apdu:
                guard e.command.count >= 2 else { name = "other"; break }
                if e.error != nil { name = "failedExchanges"; break }
                // DESFire native commands wrapped in ISO 7816 (CLA 90) are named by their command code.
                if e.command[0] == 0x90 {
                    name = "desfire-\(String(format: "%02X", e.command[1]))"
                    break
                }
                switch e.command[1] {
                case 0xA4: name = "SELECT"
                case 0xB0, 0xB1: name = "READ BINARY"
                case 0xC0: name = "GET RESPONSE"
                case 0xCA, 0xCB: name = "GET DATA"
                case 0x20: name = "VERIFY"
                case 0x22: name = "MSE SET"
                case 0x88: name = "INTERNAL AUTHENTICATE"
                case 0x84: name = "GET CHALLENGE"
                case 0x2A: name = "PSO"
                default: name = "INS \(String(format: "%02X", e.command[1]))"
                }
            }
            out[name, default: 0] += Double(e.durationNanoseconds) / 1_000_000
        }
        return out
    }
}
