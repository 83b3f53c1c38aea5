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
        let expected = "authenticated, assurance cps-pin, PIN typed on the reader's pinpad (host keypad when it has none)"
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
                "PIN",
                pinpad
                    ? "PIN typed on the reader's pinpad (it never reached the host)"
                    : "PIN typed on the host keypad (scripted; this reader has no pinpad)",
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
            DemoLine("care date", DemoCalendar.display(stored: care.description) + (care == DemoCalendar.today() ? " (today)" : "")),
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
                let reason = b.inscReason ?? "no reason given"
                let shown = reason.hasPrefix("no INS-C: ") ? String(reason.dropFirst("no INS-C: ".count)) : reason
                lines.append(DemoLine("INS-C", "none — \(shown)", mark: .notice, level: 1))
            }
            let rights = b.rightsOpen(at: care)
            lines.append(DemoLine("rights", "\(rights)", mark: rights.isOpen ? .ok : .notice, level: 1))
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
        let expected = "CPS authenticated (cps-pin), badge enrolled, tap accepted with assurance badge, cpsRequired after the window"
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
        lines.append(
            DemoLine(
                "PIN",
                result.pinEntry == .pinpad
                    ? "PIN typed on the reader's pinpad" : "PIN typed on the host keypad (scripted; this reader has no pinpad)",
                mark: result.pinEntry == nil ? nil : .ok))
        lines += Self.identityLines(result, persona: persona)
        guard result.outcome == .authenticated, result.assurance == .cpsPin else {
            lines.append(DemoLine("CPS outcome", "\(result.outcome.rawValue) — \(result.detail)", mark: .refused))
            return DemoStepReport(
                kind: kind, title: Self.title(kind), status: .failed, expected: expected,
                outcome: "CPS not authenticated: \(result.outcome.rawValue)", lines: lines, facts: facts)
        }
        lines.append(DemoLine("CPS outcome", "authenticated, assurance cps-pin", mark: .ok))

        // b. Enrolment: her badge on the contactless reader, bound to her by the Authentication module's badge
        //    authenticator (DESFire AES with the diversified key, number read under the session MAC).
        let key: [UInt8]
        do { key = try Self.siteMasterKey() } catch { return broken(kind, expected: expected, error.description, lines: lines, facts: facts) }
        let store = InMemoryBadgeEnrolmentStore()
        let badges = BadgeAuthenticator(store: store, siteMasterKey: key, now: configuration.now)
        let badgeReader = readers.reader(.badge)
        do { try await badges.noteCPSAuthentication(result) } catch {
            return broken(kind, expected: expected, "the enrolment store failed: \(error)", lines: lines, facts: facts)
        }
        do { try await badgeReader.insert(persona: configuration.physicianBadge) } catch {
            return broken(kind, expected: expected, error.description, lines: lines, facts: facts)
        }
        let enrolment = await badges.enrol(badge: badgeReader.transport, after: result)
        await badgeReader.transport.disconnect(.leave)
        await badgeReader.remove()
        lines.append(DemoLine("badge", "\(configuration.physicianBadge) held on \(badgeReader.name)"))
        let enrolled: BadgeEnrolment
        switch enrolment {
        case .refused(let r):
            facts["enrolment"] = ["enrolled": false, "refusal": Self.json(r)]
            lines.append(DemoLine("enrolment", "refused: \(r.outcome.rawValue) — \(r.detail)", mark: .refused))
            return DemoStepReport(
                kind: kind, title: Self.title(kind), status: .failed, expected: expected,
                outcome: "badge not enrolled: \(r.outcome.rawValue)", lines: lines, facts: facts)
        case .enrolled(let e):
            enrolled = e
            facts["enrolment"] = [
                "enrolled": true, "badgeNumber": .string(e.badgeNumber), "uid": .string(e.uid.hexString(separator: "")),
                "idNat": .string(e.identity.idNat), "enrolledAt": .string(DemoCalendar.iso(e.enrolledAt)),
            ]
            lines.append(
                DemoLine(
                    "badge proof", "DESFire AES mutual authentication, key diversified from the site key (AN10922)",
                    mark: .ok))
            lines.append(
                DemoLine(
                    "enrolment", "badge \(e.badgeNumber) (UID \(e.uid.hexString(separator: " "))) bound to "
                        + "\(e.identity.prenom) \(e.identity.nom), idNat \(e.identity.idNat)", mark: .ok))
        }

        // c. Later, a tap: tap & go within the window after her CPS authentication.
        let tap: AuthenticationResult
        do { try await badgeReader.insert(persona: configuration.physicianBadge) } catch {
            return broken(kind, expected: expected, error.description, lines: lines, facts: facts)
        }
        tap = await badges.tap(badgeReader.transport)
        await badgeReader.transport.disconnect(.leave)
        await badgeReader.remove()
        facts["tap"] = Self.json(tap)
        let window = Int(await badges.window / 3600)
        let tapOK = tap.outcome == .authenticated && tap.assurance == .badge
            && tap.identity?.idNat == result.identity?.idNat
        lines.append(
            DemoLine(
                "tap", tapOK
                    ? "authenticated, assurance badge: \(tap.identity.map { "\($0.prenom) \($0.nom)" } ?? "?"), "
                        + "within the \(window) h tap & go window after her CPS at \(DemoCalendar.utc(result.time))"
                    : "\(tap.outcome.rawValue) — \(tap.detail)", mark: tapOK ? .ok : .refused))

        // d. The same tap after the window asks for the CPS again (same store, clock \(window) h + 1 min later).
        let later = result.time.addingTimeInterval(await badges.window + 60)
        let lateBadges = BadgeAuthenticator(store: store, siteMasterKey: key, now: { later })
        var lateOK = false
        do {
            try await badgeReader.insert(persona: configuration.physicianBadge)
            let late = await lateBadges.tap(badgeReader.transport)
            await badgeReader.transport.disconnect(.leave)
            await badgeReader.remove()
            facts["tapAfterWindow"] = Self.json(late)
            lateOK = late.outcome == .cpsRequired
            lines.append(
                DemoLine(
                    "tap after \(window) h", lateOK ? "cpsRequired: the badge asks for the CPS again" : "\(late.outcome.rawValue) — \(late.detail)",
                    mark: lateOK ? .ok : .refused))
        } catch {
            lines.append(DemoLine("tap after \(window) h", "not tried: \(error)", mark: .refused))
        }
        let ok = tapOK && lateOK
        return DemoStepReport(
            kind: kind, title: Self.title(kind), status: ok ? .passed : .failed, expected: expected,
            outcome: tapOK
                ? "badge \(enrolled.badgeNumber) enrolled, tap accepted (assurance badge)"
                : "badge enrolled, tap gave \(tap.outcome.rawValue)",
            lines: lines, facts: facts)
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
