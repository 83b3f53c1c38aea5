import Testing

@testable import Terminal

@Suite("Reader state machine")
struct ReaderStateMachineTests {
    let atr: [UInt8] = [0x3B, 0x65, 0x00, 0x00, 0x9C, 0x11, 0x01, 0x01, 0x03]
    let identity = AuthenticatedProfessional(
        idNat: "899700567890", rpps: "99700567890", nom: "MOREAU", prenom: "PAUL", profession: "Pharmacien",
        cardType: "CPS")

    /// The phases entered by a list of effects.
    func phases(_ effects: [ReaderEffect]) -> [ReaderPhase] {
        effects.compactMap { if case .entered(let s) = $0 { return s.phase } else { return nil } }
    }

    @Test("CPS on a pinpad: idle → card present → recognised → PIN pending → authenticated → card removed → idle")
    func professionalHappyPath() {
        var m = ReaderStateMachine(readerID: "r1")
        #expect(m.state == .idle)
        let insert = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(insert == [.entered(.cardPresent(session: "r1-1", atr: atr)), .startFlow(session: "r1-1", atr: atr)])
        #expect(m.deadline == 10_000)
        #expect(phases(m.handle(.recognised(session: "r1-1", kind: .cps3, isTestCard: false), at: 100)) == [.recognised])
        #expect(m.handle(.pinRequested(session: "r1-1", onPinpad: true), at: 200)
            == [.entered(.pinPending(session: "r1-1", kind: .cps3, onPinpad: true))])
        #expect(m.deadline == 60_200)
        #expect(m.handle(.outcome(session: "r1-1", .authenticated(identity, assurance: .cpsPin)), at: 5_000)
            == [.entered(.authenticated(session: "r1-1", identity: identity, assurance: .cpsPin))])
        #expect(m.deadline == nil)
        #expect(m.handle(.cardRemoved, at: 9_000) == [
            .cancelFlow(session: "r1-1"), .entered(.cardRemoved(session: "r1-1")),
            .endSession(session: "r1-1", reason: .cardRemoved), .entered(.idle),
        ])
        #expect(m.state == .idle)
    }

    @Test("Vitale: idle → card present → recognised → patient identified; the next card is session 2")
    func patientPath() {
        var m = ReaderStateMachine(readerID: "r2")
        let patient = PatientIdentification(serial: "1234", beneficiaries: [], insuredNIR: "171096912304538")
        var seen: [ReaderPhase] = []
        seen += phases(m.handle(.cardInserted(atr: atr), at: 0))
        seen += phases(m.handle(.recognised(session: "r2-1", kind: .vitale2, isTestCard: false), at: 1))
        seen += phases(m.handle(.outcome(session: "r2-1", .patientIdentified(patient)), at: 2))
        seen += phases(m.handle(.cardRemoved, at: 3))
        #expect(seen == [.cardPresent, .recognised, .patientIdentified, .cardRemoved, .idle])
        #expect(m.handle(.cardInserted(atr: atr), at: 4).last == .startFlow(session: "r2-2", atr: atr))
    }

    @Test("Removal while the PIN is pending cancels the flow and ends the session at once")
    func removalDuringPIN() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        _ = m.handle(.recognised(session: "r1-1", kind: .cps3, isTestCard: false), at: 0)
        _ = m.handle(.pinRequested(session: "r1-1", onPinpad: false), at: 0)
        let e = m.handle(.cardRemoved, at: 10)
        #expect(e.first == .cancelFlow(session: "r1-1"))
        #expect(e.contains(.endSession(session: "r1-1", reason: .cardRemoved)))
        #expect(m.state == .idle)
        // The late outcome of the ended session is ignored.
        #expect(m.handle(.outcome(session: "r1-1", .authenticated(identity, assurance: .cpsPin)), at: 20) == [])
        #expect(m.state == .idle)
    }

    @Test("PIN timeout on the virtual clock: nothing before the deadline, refusal at it")
    func pinTimeout() {
        var m = ReaderStateMachine(readerID: "r1", policy: ReaderPolicy(pinTimeout: 30_000))
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        _ = m.handle(.recognised(session: "r1-1", kind: .cps3, isTestCard: false), at: 1_000)
        _ = m.handle(.pinRequested(session: "r1-1", onPinpad: false), at: 2_000)
        #expect(m.handle(.tick, at: 31_999) == [])
        #expect(m.handle(.tick, at: 32_000) == [
            .cancelFlow(session: "r1-1"),
            .entered(.refused(session: "r1-1", reason: .pinTimeout, triesLeft: nil)),
        ])
        // The refused card stays until it is removed.
        #expect(m.state.session == "r1-1")
        #expect(phases(m.handle(.cardRemoved, at: 40_000)) == [.cardRemoved, .idle])
    }

    @Test("Recognition timeout covers card present and recognised")
    func recognitionTimeout() {
        var m = ReaderStateMachine(readerID: "r3", policy: ReaderPolicy(recognitionTimeout: 5_000))
        _ = m.handle(.cardInserted(atr: atr), at: 1_000)
        _ = m.handle(.recognised(session: "r3-1", kind: .vitale2, isTestCard: false), at: 2_000)
        #expect(m.deadline == 6_000)
        #expect(m.handle(.tick, at: 6_000).last == .entered(.refused(session: "r3-1", reason: .recognitionTimeout, triesLeft: nil)))
    }

    @Test("Policies: test cards refused, keypad PIN refused when a pinpad is required")
    func policies() {
        var m = ReaderStateMachine(readerID: "r1", policy: ReaderPolicy(requirePinpad: true, acceptTestCards: false))
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(m.handle(.recognised(session: "r1-1", kind: .cps3, isTestCard: true), at: 1) == [
            .entered(.recognised(session: "r1-1", kind: .cps3)), .cancelFlow(session: "r1-1"),
            .entered(.refused(session: "r1-1", reason: .testCardRefused, triesLeft: nil)),
        ])
        _ = m.handle(.cardRemoved, at: 2)
        _ = m.handle(.cardInserted(atr: atr), at: 3)
        _ = m.handle(.recognised(session: "r1-2", kind: .cps3, isTestCard: false), at: 4)
        #expect(m.handle(.pinRequested(session: "r1-2", onPinpad: false), at: 5) == [
            .cancelFlow(session: "r1-2"), .entered(.refused(session: "r1-2", reason: .pinpadRequired, triesLeft: nil)),
        ])
    }

    @Test("Wrong PIN is a refusal with the tries left")
    func wrongPIN() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        _ = m.handle(.recognised(session: "r1-1", kind: .cps3, isTestCard: false), at: 0)
        _ = m.handle(.pinRequested(session: "r1-1", onPinpad: true), at: 0)
        #expect(m.handle(.outcome(session: "r1-1", .refused(.wrongPin, triesLeft: 2)), at: 1)
            == [.entered(.refused(session: "r1-1", reason: .wrongPin, triesLeft: 2))])
    }

    @Test("Unplugged reader ends the session; plugged back it is idle; cards in an unplugged reader are ignored")
    func unplug() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(m.handle(.unplugged, at: 1) == [
            .cancelFlow(session: "r1-1"), .endSession(session: "r1-1", reason: .readerUnplugged), .entered(.unplugged),
        ])
        #expect(m.handle(.cardInserted(atr: atr), at: 2) == [])
        #expect(m.handle(.cardRemoved, at: 2) == [])
        #expect(m.handle(.degraded, at: 2) == [])
        #expect(m.handle(.restored, at: 2) == [])
        #expect(m.state == .unplugged)
        #expect(m.handle(.pluggedIn, at: 3) == [.entered(.idle)])
    }

    @Test("Monitoring degraded ends the session; restored goes back to idle")
    func degraded() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(m.handle(.degraded, at: 1) == [
            .cancelFlow(session: "r1-1"), .endSession(session: "r1-1", reason: .monitoringDegraded), .entered(.degraded),
        ])
        #expect(m.handle(.degraded, at: 2) == [])
        #expect(m.handle(.restored, at: 3) == [.entered(.idle)])
        #expect(m.handle(.cardInserted(atr: atr), at: 4).last == .startFlow(session: "r1-2", atr: atr))
    }

    @Test("A second ATR without a removal ends the first session first")
    func doubleInsert() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(phases(m.handle(.cardInserted(atr: [0x3B, 0x00]), at: 1)) == [.cardRemoved, .idle, .cardPresent])
        #expect(m.state.session == "r1-2")
    }

    @Test("Inputs of another session and outcomes after a final state are ignored")
    func staleInputs() {
        var m = ReaderStateMachine(readerID: "r1")
        _ = m.handle(.cardInserted(atr: atr), at: 0)
        #expect(m.handle(.recognised(session: "r1-9", kind: .cps3, isTestCard: false), at: 1) == [])
        #expect(m.handle(.pinRequested(session: "r1-1", onPinpad: true), at: 1) == [])  // not recognised yet
        _ = m.handle(.outcome(session: "r1-1", .refused(.notRecognised)), at: 2)
        #expect(m.handle(.outcome(session: "r1-1", .authenticated(identity, assurance: .cpsPin)), at: 3) == [])
        #expect(m.state.phase == .refused)
    }

    @Test("1,000 insert/remove cycles leave no session and count sessions exactly")
    func manyCycles() {
        var m = ReaderStateMachine(readerID: "r1")
        var started = 0, ended = 0
        for i in 0..<1000 {
            for e in m.handle(.cardInserted(atr: atr), at: Int64(i)) { if case .startFlow = e { started += 1 } }
            for e in m.handle(.cardRemoved, at: Int64(i)) { if case .endSession = e { ended += 1 } }
        }
        #expect(started == 1000)
        #expect(ended == 1000)
        #expect(m.state == .idle)
        #expect(m.deadline == nil)
    }
}
