import Authentication
import CardSimulator
import Foundation
import Testing

@testable import Terminal

@Suite("Terminal service on simulated readers")
struct SimulatedServiceTests {
    func start(
        badges: ((SimulatedReaderPool) -> TerminalBadges)? = nil, authentication: CPSAuthenticationFlow? = nil
    ) async throws -> (TerminalService, SimulatedReaderPool, Task<Void, Never>, AsyncStream<TerminalEvent>.Iterator) {
        var conf = TerminalConfiguration()
        conf.acceptTestCards = true
        let pool = SimulatedReaderPool()
        let b = badges?(pool)
        let audit = try AuditLog(path: temporaryDirectory() + "/audit.sqlite")
        let service = TerminalService(
            configuration: conf, source: pool,
            runner: SimulatedPersonaFlowRunner(pool: pool, badges: b, authentication: authentication),
            audit: audit, badges: b, clock: VirtualClock())
        var it = await service.bus.subscribe().makeAsyncIterator()
        let task = Task { await service.run(tickEvery: nil) }
        let added = await events(&it, until: .readerAdded, limit: 1) + events(&it, until: .readerAdded, limit: 1)
            + events(&it, until: .readerAdded, limit: 1)
        #expect(added.map(\.readerName) == [SimulatedReaderPool.pinpadReaderName, SimulatedReaderPool.contactReaderName,
                                            SimulatedReaderPool.contactlessReaderName])
        #expect(added.map(\.role) == [.professional, .patient, .badge])
        return (service, pool, task, it)
    }

    @Test("Pharmacist on the pinpad, then the family Vitale: events in order with their content")
    func pharmacistAndFamily() async throws {
        var (service, pool, task, it) = try await start()
        defer { task.cancel() }
        try await pool.typeOnPinpad(reader: SimulatedReaderPool.pinpadReaderName, digits: "4321")
        try await pool.insert(reader: SimulatedReaderPool.pinpadReaderName, persona: "cps3-moreau-pharmacist")
        let cps = await events(&it, until: .authenticated)
        #expect(cps.map(\.type) == [.cardInserted, .cardRecognised, .pinRequested, .authenticated])
        #expect(cps.allSatisfy { $0.reader == "r1" && $0.session == "r1-1" })
        #expect(cps[0].atr?.isEmpty == false)
        #expect(cps[1].cardKind == .cps3)
        #expect(cps[2].onPinpad == true)
        #expect(cps[3].identity == AuthenticatedProfessional(
            idNat: "899700567890", rpps: "99700567890", nom: "MOREAU", prenom: "PAUL", profession: "Pharmacien",
            cardType: "CPS"))
        #expect(cps[3].assurance == .cpsPin)

        try await pool.insert(reader: SimulatedReaderPool.contactReaderName, persona: "vitale2-bernard-family")
        let vitale = await events(&it, until: .patientIdentified)
        #expect(vitale.map(\.type) == [.cardInserted, .cardRecognised, .patientIdentified])
        let patient = try #require(vitale.last?.patient)
        #expect(patient.beneficiaries.map(\.prenom) == ["THOMAS", "SOPHIE", "EMMA", "LUCAS"])
        #expect(patient.beneficiaries[1].insMasked == "2 74 •• •• ••• ••• 64")
        #expect(patient.beneficiaries[3].insMasked == nil)
        #expect(patient.beneficiaries[3].inscMasked == nil)
        #expect(patient.beneficiaries[3].insReason != nil)  // LUCAS: no certified NIR, not the assuré
        #expect(patient.beneficiaries[0].inscMasked?.count == 22)  // THOMAS, the assuré: INS-C from the card NIR
        #expect(patient.chosen == 0)
        #expect(patient.insuredNIRMasked == "1 71 •• •• ••• ••• 38")
        #expect(!vitale.last!.json.contains("171096912304538"))

        try await pool.remove(reader: SimulatedReaderPool.pinpadReaderName)
        #expect(await events(&it, until: .idle).map(\.type) == [.cardRemoved, .sessionEnded, .idle])
        #expect(await service.sessionSnapshots().map(\.id) == ["r2-1"])
    }

    @Test("The revoked card is refused with its reason; a wrong PIN gives the tries left")
    func refusals() async throws {
        var (_, pool, task, it) = try await start()
        defer { task.cancel() }
        try await pool.typeOnPinpad(reader: SimulatedReaderPool.pinpadReaderName, digits: "1357")
        try await pool.insert(reader: SimulatedReaderPool.pinpadReaderName, persona: "cps3-roux-revoked")
        let e = await events(&it, until: .refused)
        #expect(e.last?.reason == "revoked")
        #expect(e.last?.reasonText == "the card's certificate is revoked")
        try await pool.typeOnPinpad(reader: SimulatedReaderPool.pinpadReaderName, digits: "0000")
        try await pool.insert(reader: SimulatedReaderPool.pinpadReaderName, persona: "cps3-durand")
        let w = await events(&it, until: .refused)
        #expect(w.last?.reason == "wrongPin")
        #expect(w.last?.triesLeft == 2)
    }

    @Test("Without a site key every badge is refused; unplugging the badge reader ends its session")
    func badgeWithoutKeyAndUnplug() async throws {
        var (service, pool, task, it) = try await start()
        defer { task.cancel() }
        try await pool.insert(reader: SimulatedReaderPool.contactlessReaderName, persona: "desfire-durand")
        let tap = await events(&it, until: .refused)
        #expect(tap.last?.reason == "notSupported")
        #expect(tap.last?.reader == "r3")
        try await pool.setPlugged(reader: SimulatedReaderPool.contactlessReaderName, false)
        #expect(await events(&it, until: .readerRemoved).map(\.type) == [.sessionEnded, .readerUnplugged, .readerRemoved])
        #expect(await service.sessionSnapshots().isEmpty)
    }

    @Test("1,000 insert/remove cycles of real simulated cards leave no session")
    func thousandSimulatedCycles() async throws {
        let (service, pool, task, _) = try await start()
        defer { task.cancel() }
        // Every removal ends its session: count them on a stream consumed as they come.
        let stream = await service.bus.subscribe()
        let counter = Task {
            var ended = 0
            for await e in stream where e.type == .sessionEnded {
                ended += 1
                if ended == 1000 { break }
            }
            return ended
        }
        for _ in 0..<1000 {
            try await pool.insert(reader: SimulatedReaderPool.contactReaderName, persona: "vitale2-martin")
            try await pool.remove(reader: SimulatedReaderPool.contactReaderName)
        }
        let ended = await counter.value
        #expect(ended == 1000)
        #expect(await service.sessionSnapshots().isEmpty)
        #expect(await service.readerSnapshots().map(\.state) == [.idle, .idle, .idle])
    }
}

@Suite("Terminal service with the real CPS authentication on simulated cards")
struct SimulatedAuthenticationTests {
    @Test("Pharmacist through CPSAuthenticator on the simulated pinpad; the revoked card refused without a PIN")
    func realAuthentication() async throws {
        let authentication = try #require(CPSAuthenticationFlow.simulatedTestPKI())
        var conf = TerminalConfiguration()
        conf.acceptTestCards = true
        let pool = SimulatedReaderPool()
        let service = TerminalService(
            configuration: conf, source: pool,
            runner: SimulatedPersonaFlowRunner(pool: pool, badges: nil, authentication: authentication),
            audit: try AuditLog(path: temporaryDirectory() + "/audit.sqlite"), clock: VirtualClock())
        var it = await service.bus.subscribe().makeAsyncIterator()
        let task = Task { await service.run(tickEvery: nil) }
        defer { task.cancel() }
        for _ in 0..<3 { _ = await events(&it, until: .readerAdded) }
        let pinpad = SimulatedReaderPool.pinpadReaderName
        try await pool.typeOnPinpad(reader: pinpad, digits: "4321")
        try await pool.insert(reader: pinpad, persona: "cps3-moreau-pharmacist")
        let e = await events(&it, until: .authenticated, limit: 20)
        #expect(e.map(\.type).suffix(4) == [.cardInserted, .cardRecognised, .pinRequested, .authenticated])
        #expect(e.last?.identity?.nom == "MOREAU")
        #expect(e.last?.identity?.rpps == "99700567890")
        #expect(e.last?.identity?.profession == "Pharmacien")
        #expect(e.last?.assurance == .cpsPin)
        try await pool.remove(reader: pinpad)
        _ = await events(&it, until: .idle)
        try await pool.insert(reader: pinpad, persona: "cps3-roux-revoked")
        let r = await events(&it, until: .refused, limit: 20)
        #expect(r.map(\.type) == [.cardInserted, .cardRecognised, .refused])
        #expect(r.last?.reason == "revoked")
    }
}
