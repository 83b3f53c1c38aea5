import Authentication
import Badges
import CPS
import CardSimulator
import INS
import ISO7816
import Vitale

extension DemoRunner {
    // MARK: Step 1 — the pharmacist

    /// Step 1: `cps3-moreau-pharmacist` in the pinpad reader, the PIN typed on the pinpad, `CPSAuthenticator`
    /// against the test PKI. Expected: authenticated, assurance `cps-pin`, PIN entry `pinpad`.
    func pharmacistStep() async -> DemoStepReport {
        let kind = DemoStepKind.pharmacist
        let expected = "authenticated, assurance cps-pin, PIN typed on the pinpad"
        if let why = Self.cpsCardMissing() { return unavailable(kind, expected: expected, why) }
        let id = configuration.pharmacist
        let result: AuthenticationResult
        let persona: ProfessionalPersona
        let pinpad: Bool
        do { (result, persona, pinpad) = try await authenticateCPS(persona: id) } catch {
            return broken(kind, expected: expected, error.description)
        }
        var lines = [
            DemoLine("reader", readers.reader(.professional).name + (pinpad ? " (PIN pad)" : "")),
            DemoLine("card", "CPS \(id) inserted"),
            DemoLine(
                "PIN", pinpad ? "PIN typed on the reader's pinpad (it never reached the host)" : "PIN typed on the host keypad",
                mark: result.pinEntry == nil ? nil : .ok),
        ]
        lines += Self.identityLines(result, persona: persona)
        if let c = result.certificate {
            lines.append(DemoLine("certificate", "\(c.subject), serial \(c.serial)"))
        }
        let (chain, chainJSON) = await chainLines(for: result)
        if !chain.isEmpty { lines.append(DemoLine("chain and CRLs", "")) }
        lines += chain
        let ok = result.outcome == .authenticated && result.assurance == .cpsPin
            && result.pinEntry == (pinpad ? .pinpad : .keypad)
        if ok {
            lines.append(DemoLine("challenge", "fresh 32-byte challenge signed by the card's authentication key, verified", mark: .ok))
        }
        lines.append(
            DemoLine(
                "outcome", result.outcome.rawValue + (result.assurance.map { ", assurance \($0.rawValue)" } ?? "")
                    + (result.outcome == .authenticated ? "" : " — \(result.detail)"),
                mark: ok ? .ok : .refused))
        var facts: [String: DemoJSONValue] = ["persona": .string(id), "authentication": Self.json(result)]
        facts["pki"] = chainJSON
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: ok ? .passed : .failed, expected: expected,
            outcome: result.outcome.rawValue + (result.assurance.map { ", assurance \($0.rawValue)" } ?? ""),
            lines: lines, facts: facts)
    }

    // MARK: Step 2 — the family carte Vitale

    /// Step 2: `vitale2-bernard-family` in the patient reader, read by `VitaleSession` at the care date. Expected:
    /// the card read; every beneficiary with an INS-C or the reason there is none.
    func vitaleStep() async -> DemoStepReport {
        let kind = DemoStepKind.vitale
        let expected = "card read; each beneficiary's INS-C, or why there is none; rights checked"
        let id = configuration.family
        let reader = readers.reader(.patient)
        do { try await reader.insert(persona: id) } catch { return broken(kind, expected: expected, error.description) }
        let card: VitaleCard
        do {
            card = try await VitaleSession(transport: reader.transport).readCard(careDate: configuration.careDate)
        } catch {
            await reader.transport.disconnect(.leave)
            return broken(kind, expected: expected, error.description)
        }
        await reader.transport.disconnect(.leave)

        let care = configuration.careDate
        var lines = [
            DemoLine("reader", reader.name),
            DemoLine("card", "\(card.kind == .vitale1 ? "Vitale 1" : "Vitale 2"), serial \(card.serial ?? "-")"),
            DemoLine("insured NIR", NIR.mask(card.insured.nir)),
            DemoLine(
                "organism",
                "régime \(card.insured.regime), caisse \(card.insured.caisse), centre \(card.insured.centre)"),
            DemoLine("care date", care.description),
        ]
        if let why = card.testCardReason { lines.append(DemoLine("test card", why, mark: .notice)) }
        var beneficiaries: [DemoJSONValue] = []
        for b in card.beneficiaries {
            lines.append(DemoLine("#\(b.index + 1)", "\(b.prenom) \(b.nomUsuel) — \(b.qualiteLabel) (qualité \(b.qualite))"))
            lines.append(DemoLine("born", DemoCalendar.display(stored: b.dateNaissance.raw), level: 1))
            let choice = INSC.selectNIR(qualite: b.qualite, nirCertifie: b.nirCertifie, cardNIR: b.nir ?? card.insured.nir)
            var source: DemoJSONValue = .null
            if case .success(let c) = choice {
                let from = c.source == .nirCertifie ? "own NIR certifié" : "card NIR (the assuré's own)"
                lines.append(DemoLine("NIR", "\(NIR.mask(c.nir)) — \(from)", level: 1))
                source = .string(c.source.rawValue)
            }
            if let insc = b.insc {
                lines.append(DemoLine("INS-C", insc, mark: .ok, level: 1))
            } else {
                lines.append(DemoLine("INS-C", "none: \(b.inscReason ?? "no reason given")", mark: .notice, level: 1))
            }
            let rights = b.rightsOpen(at: care)
            lines.append(DemoLine("rights", "\(rights) on \(care)", mark: rights.isOpen ? .ok : .notice, level: 1))
            beneficiaries.append([
                "prenom": .string(b.prenom), "nomUsuel": .string(b.nomUsuel),
                "nomPatronymique": .optional(b.nomPatronymique), "dateNaissance": .string(b.dateNaissance.raw),
                "qualite": .string(b.qualite), "qualiteLabel": .string(b.qualiteLabel),
                "nirCertifie": .optional(b.nirCertifie.map(NIR.mask)), "inscSource": source,
                "insc": .optional(b.insc), "inscReason": .optional(b.inscReason),
                "rights": .array(b.rights.map { ["start": .string($0.start), "end": .string($0.end)] }),
                "rightsOpen": .bool(rights.isOpen), "rightsStatus": .string(rights.description),
            ])
        }
        if !card.protectedData.isEmpty {
            lines.append(
                DemoLine("protected", card.protectedData.map(\.what).joined(separator: ", ") + ": need a CPS session"))
        }
        let withINSC = card.beneficiaries.filter { $0.insc != nil }.count
        let explained = card.beneficiaries.allSatisfy { $0.insc != nil || $0.inscReason != nil }
        let ok = !card.beneficiaries.isEmpty && explained
        lines.append(
            DemoLine(
                "outcome", "\(card.beneficiaries.count) beneficiaries, \(withINSC) INS-C, "
                    + "\(card.beneficiaries.count - withINSC) without (reason given)", mark: ok ? .ok : .refused))
        let facts: [String: DemoJSONValue] = [
            "persona": .string(id), "kind": .string(card.kind.rawValue), "serial": .optional(card.serial),
            "careDate": .string(care.description), "testCard": .bool(card.isTestCard),
            "insured": [
                "nir": .string(NIR.mask(card.insured.nir)), "regime": .string(card.insured.regime),
                "caisse": .string(card.insured.caisse), "centre": .string(card.insured.centre),
            ],
            "beneficiaries": .array(beneficiaries),
        ]
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: ok ? .passed : .failed, expected: expected,
            outcome: "\(card.beneficiaries.count) beneficiaries, \(withINSC) INS-C", lines: lines, facts: facts)
    }

    // MARK: Step 3 — the physician's badge

    /// Step 3: `cps3-durand` authenticated on the pinpad reader, then `desfire-durand` on the contactless reader
    /// authenticated by `BadgeSession.authenticateBadge` (diversified AES key), enrolled to her, and a second tap
    /// authenticating her at assurance `badge` within the tap & go window.
    func badgeStep() async -> DemoStepReport {
        let kind = DemoStepKind.badge
        let expected = "CPS authenticated (cps-pin), badge enrolled, tap accepted with assurance badge"
        if let why = Self.cpsCardMissing() { return unavailable(kind, expected: expected, why) }
        var lines: [DemoLine] = []
        var facts: [String: DemoJSONValue] = ["persona": .string(configuration.physician), "badgePersona": .string(configuration.physicianBadge)]

        // a. Her CPS, PIN on the pinpad.
        let result: AuthenticationResult
        let persona: ProfessionalPersona
        do { (result, persona, _) = try await authenticateCPS(persona: configuration.physician) } catch {
            return broken(kind, expected: expected, error.description)
        }
        facts["authentication"] = Self.json(result)
        lines.append(DemoLine("CPS", "\(configuration.physician) in \(readers.reader(.professional).name)"))
        lines.append(DemoLine("PIN", "PIN typed on the reader's pinpad"))
        lines += Self.identityLines(result, persona: persona)
        guard result.outcome == .authenticated, result.assurance == .cpsPin else {
            lines.append(DemoLine("CPS outcome", "\(result.outcome.rawValue) — \(result.detail)", mark: .refused))
            return DemoStepReport(
                kind: kind, title: Self.title(kind), status: .failed, expected: expected,
                outcome: "CPS not authenticated: \(result.outcome.rawValue)", lines: lines, facts: facts)
        }
        lines.append(DemoLine("CPS outcome", "authenticated, assurance cps-pin", mark: .ok))

        // b. Her badge on the contactless reader: the badge proves its diversified AES key.
        let badgeReader = readers.reader(.badge)
        let badge: BadgeIdentity
        do {
            badge = try await tapBadge(on: badgeReader)
        } catch {
            return broken(kind, expected: expected, error.description, lines: lines, facts: facts)
        }
        facts["badge"] = Self.json(badge)
        lines.append(DemoLine("badge", "\(configuration.physicianBadge) tapped on \(badgeReader.name)"))
        lines.append(
            DemoLine(
                "badge proof", "DESFire AES mutual authentication with the key diversified from the site key (AN10922)",
                mark: badge.assurance == .desfireAES ? .ok : .refused))
        lines.append(
            DemoLine(
                "badge data", "UID \(badge.uid.hexString(separator: " ")), number \(badge.badgeNumber ?? "-"), "
                    + "holder \(badge.holder ?? "-")"))

        // c. Enrolment and tap & go: decided by the Authentication module's badge store.
        return unavailable(
            kind, expected: expected,
            "badge enrolment and tap & go are not in this build yet (Authentication badge store, branch auth)",
            lines: lines, facts: facts)
    }

    /// Connects to the badge on `reader` and runs `BadgeSession.authenticateBadge` with the site master key.
    func tapBadge(on reader: any DemoReader) async throws(DemoSetupError) -> BadgeIdentity {
        try await reader.insert(persona: configuration.physicianBadge)
        let info: CardConnectionInfo
        do { info = try await reader.transport.connect(preferred: [.t0, .t1]) } catch {
            throw .backend("the badge reader could not connect to the badge: \(error)")
        }
        let key: [UInt8]
        do { key = try Self.siteMasterKey() } catch {
            await reader.transport.disconnect(.leave)
            throw error
        }
        let outcome: Result<BadgeIdentity, BadgeError>
        do {
            outcome = .success(
                try await BadgeSession(transport: reader.transport, atr: info.atr).authenticateBadge(siteMasterKey: key))
        } catch {
            outcome = .failure(error)
        }
        await reader.transport.disconnect(.leave)
        switch outcome {
        case .success(let b): return b
        case .failure(let e): throw .backend("the badge was not authenticated: \(e)")
        }
    }

    /// The synthetic site master key of personas.json (`site.desfireMasterKeyAES128`, 16 bytes).
    nonisolated static func siteMasterKey() throws(DemoSetupError) -> [UInt8] {
        let site: SitePersona
        do { site = try PersonaCatalog.personas().site } catch { throw .persona(error.description) }
        guard let key = [UInt8](hex: String(decoding: site.desfireMasterKeyAES128.asciiBytes, as: UTF8.self)),
            key.count == 16
        else { throw .persona("the site master key of personas.json is not 16 hex bytes") }
        return key
    }

    nonisolated static func json(_ b: BadgeIdentity) -> DemoJSONValue {
        [
            "uid": .string(b.uid.hexString(separator: "")), "badgeNumber": .optional(b.badgeNumber),
            "holder": .optional(b.holder), "assurance": .string(b.assurance.rawValue),
        ]
    }

    // MARK: Step 4 — the revoked card

    /// Step 4: `cps3-roux-revoked` in the pinpad reader; nobody types a PIN. Expected: refused as `revoked` with
    /// the CRL's reason, before any PIN was asked.
    func revokedStep() async -> DemoStepReport {
        let kind = DemoStepKind.revoked
        let expected = "refused: revoked, with the CRL's reason, no PIN asked"
        if let why = Self.cpsCardMissing() { return unavailable(kind, expected: expected, why) }
        let id = configuration.revoked
        let result: AuthenticationResult
        do { (result, _, _) = try await authenticateCPS(persona: id, typesPIN: false) } catch {
            return broken(kind, expected: expected, error.description)
        }
        var lines = [
            DemoLine("reader", readers.reader(.professional).name),
            DemoLine("card", "CPS \(id) inserted"),
        ]
        if let c = result.certificate { lines.append(DemoLine("certificate", "\(c.subject), serial \(c.serial)")) }
        let (chain, chainJSON) = await chainLines(for: result)
        if !chain.isEmpty { lines.append(DemoLine("chain and CRLs", "")) }
        lines += chain
        let refusedAsRevoked = result.outcome == .revoked
        let noPIN = result.pinEntry == nil
        lines.append(
            DemoLine(
                "PIN", noPIN ? "not asked: the card was refused before any PIN was presented" : "asked (\(result.pinEntry!.rawValue))",
                mark: noPIN ? .ok : .refused))
        lines.append(
            DemoLine(
                "outcome",
                "refused: \(result.outcome.rawValue)" + (result.revocationReason.map { " (\($0))" } ?? "")
                    + " — \(result.detail)", mark: .refused))
        let ok = refusedAsRevoked && noPIN
        lines.append(
            DemoLine(
                "as expected", ok ? "yes: a revoked card never gets in" : "no: expected a refusal as revoked",
                mark: ok ? .ok : .refused))
        var facts: [String: DemoJSONValue] = ["persona": .string(id), "authentication": Self.json(result)]
        facts["pki"] = chainJSON
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: ok ? .passed : .failed, expected: expected,
            outcome: "refused: \(result.outcome.rawValue)" + (result.revocationReason.map { " (\($0))" } ?? ""),
            lines: lines, facts: facts)
    }
}
