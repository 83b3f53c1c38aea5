import Authentication
import CPS
import CardSimulator
import Foundation
import ISO7816
import Testing

/// Holds a virtual card so the test can take it out of one reader and put it in another (the same physical card:
/// its PIN counter survives), which `SimulatedReader.insert(_:)` (a `sending` parameter) would not allow.
final class CardHolder: @unchecked Sendable {
    let card: any VirtualCard
    init(_ card: any VirtualCard) { self.card = card }
}

/// A virtual card that forwards to the held one.
final class HeldCard: VirtualCard {
    let holder: CardHolder
    init(_ holder: CardHolder) { self.holder = holder }
    var atr: [UInt8] { holder.card.atr }
    func powerOn() { holder.card.powerOn() }
    func powerOff() { holder.card.powerOff() }
    func reset() { holder.card.reset() }
    func process(_ command: [UInt8]) -> [UInt8] { holder.card.process(command) }
}

/// The CPS authentication column of the fault-injection matrix (issue 9): `CPSAuthenticator.authenticate` with
/// `cps3-durand` in a contact reader, PIN typed on the host, once with the right PIN and once with a wrong one. For
/// each APDU index k and each fault: the exact outcome, no open transaction, the card's PIN counter moved only when
/// the VERIFY itself reached the card and was processed, and the same card authenticates cleanly in a new reader.
@Suite("Fault-injection matrix: CPS authentication")
struct CPSAuthenticationMatrixTests {
    static let persona = "cps3-durand"

    enum Column: String, CaseIterable {
        case removedBefore, muteOnce, truncated, statusWordDamaged

        func plan(k: Int) -> FaultPlan {
            switch self {
            case .removedBefore: return FaultPlan([.cardRemovedBefore(apdu: k)])
            case .muteOnce: return FaultPlan([.muteCard(apdu: k)])
            case .truncated: return FaultPlan([.truncateResponse(apdu: k, keepBytes: 1)])
            case .statusWordDamaged: return FaultPlan([.replaceStatusWord(apdu: k, sw: StatusWord(sw1: 0x6F, sw2: 0x00))])
            }
        }

        /// The card processed APDU k (its effects, a PIN counter change included, happened).
        var cardProcessed: Bool { self == .truncated || self == .statusWordDamaged }
    }

    struct Run {
        var result: AuthenticationResult
        var commands: [[UInt8]]
        var transactionOpen: Bool
        var holder: CardHolder
    }

    static func professional() throws -> ProfessionalPersona {
        guard case .professional(let p) = try PersonaCatalog.persona(persona) else { throw CardError.emptyRead(offset: 0) }
        return p
    }

    static func authenticate(_ holder: CardHolder, pin: [UInt8], plan: FaultPlan) async throws -> Run {
        let reader = SimulatedReader(name: "matrix CPS reader")
        await reader.insert(HeldCard(holder))
        await reader.setFaultPlan(plan)
        let pki = try TestPKI.shared()
        let authenticator = CPSAuthenticator(
            policy: AuthenticationPolicy(validator: pki.validator()), certificateCache: CPSCertificateCache())
        let result = await authenticator.authenticate(transport: reader) { () async -> SecretPIN? in
            var b = pin
            return SecretPIN(consuming: &b)
        }
        let open = await reader.isInTransaction
        // INTERNAL AUTHENTICATE carries a fresh random challenge: only its header is compared between runs.
        let commands = await reader.transcript.filter { $0.kind == .apdu }.map { e in
            e.command.count > 5 && e.command[1] == 0x88 ? Array(e.command.prefix(5)) : e.command
        }
        await reader.disconnect(.unpower)
        await reader.remove()
        return Run(result: result, commands: commands, transactionOpen: open, holder: holder)
    }

    /// The tries left of the held card, read in a new reader without presenting anything.
    static func triesLeft(_ holder: CardHolder) async throws -> Int {
        let reader = SimulatedReader(name: "matrix check reader")
        await reader.insert(HeldCard(holder))
        let session = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let n = try await session.pinStatus().triesLeft
        await reader.disconnect(.unpower)
        return n
    }

    static func freshCard() throws -> CardHolder {
        CardHolder(try PersonaCatalog.makeCard(persona: persona))
    }

    static func isVerifyWithPIN(_ c: [UInt8]) -> Bool { c.count > 5 && c[1] == 0x20 }

    @Test("CPS authentication: every fault at every APDU, right and wrong PIN", arguments: [true, false])
    func matrix(rightPIN: Bool) async throws {
        let p = try Self.professional()
        var pin = p.pin.asciiBytes
        if !rightPIN { pin[pin.count - 1] = pin[pin.count - 1] == 0x30 ? 0x31 : 0x30 }
        let clean = try await Self.authenticate(try Self.freshCard(), pin: pin, plan: .none)
        let cleanOutcome: AuthenticationOutcome = rightPIN ? .authenticated : .wrongPin
        #expect(clean.result.outcome == cleanOutcome)
        let maxTries = try await Self.triesLeft(try Self.freshCard())
        let n = clean.commands.count
        guard let verifyIndex = clean.commands.firstIndex(where: Self.isVerifyWithPIN).map({ $0 + 1 }) else {
            Issue.record("the clean run sent no VERIFY with a PIN")
            return
        }
        #expect(rightPIN ? n > verifyIndex : n == verifyIndex)
        var cells = 0
        var failures: [String] = []
        for k in 1...n {
            for column in Column.allCases {
                cells += 1
                let holder = try Self.freshCard()
                let run = try await Self.authenticate(holder, pin: pin, plan: column.plan(k: k))
                let outcome = run.result.outcome
                // Exact outcome.
                let want: Set<AuthenticationOutcome>
                let c = clean.commands[k - 1]
                // EF.DIR (SFI 1E) is read like any other file: a mute card, a truncated answer or a damaged status
                // word there fail the attempt (only a card that has no EF.DIR, `6A 82`, uses the default path).
                // The tries left (VERIFY without data): an answer that is not `63 Cx`/`69 83`/`90 00` falls back to
                // GET DATA on the CHV SDO (cps.md §5), which gives the same tries left.
                let pinStatusStep = c.count <= 5 && c.count > 1 && c[1] == 0x20
                switch column {
                case .removedBefore: want = [.cardRemoved]
                case .muteOnce, .truncated: want = [.failed]
                case .statusWordDamaged: want = pinStatusStep ? [cleanOutcome] : [.failed]
                }
                if !want.contains(outcome) {
                    failures.append("k=\(k) \(column) (\(clean.commands[k - 1].prefix(4).hexString(separator: " "))): expected \(want.map(\.rawValue).sorted()), got \(outcome.rawValue) — \(run.result.detail)")
                }
                // Nothing after the fault for a removed card; the commands before k are the clean run's.
                if Array(run.commands.prefix(k - 1)) != Array(clean.commands.prefix(k - 1)) {
                    failures.append("k=\(k) \(column): the commands before #\(k) differ from the clean run's")
                }
                if column == .removedBefore && run.commands.count != k - 1 {
                    failures.append("k=\(k) \(column): \(run.commands.count - k + 1) commands sent after the removal")
                }
                if run.transactionOpen { failures.append("k=\(k) \(column): transaction left open") }
                // The PIN was presented at most once, never re-sent after a fault.
                let verifies = run.commands.indices.filter { Self.isVerifyWithPIN(run.commands[$0]) }
                if verifies.count > 1 { failures.append("k=\(k) \(column): the PIN was presented \(verifies.count) times") }
                // The PIN counter moved only if the VERIFY reached the card and was processed (a mute card did
                // not process it; a removed card never saw it).
                let verifyProcessed = verifies.first.map { $0 + 1 != k || column.cardProcessed } ?? false
                let tries = try await Self.triesLeft(holder)
                let wantTries = !rightPIN && verifyProcessed ? maxTries - 1 : maxTries
                if tries != wantTries {
                    failures.append("k=\(k) \(column): \(tries) tries left, expected \(wantTries)")
                }
                // The next insertion works: the same card, a new reader, the right PIN.
                let again = try await Self.authenticate(holder, pin: p.pin.asciiBytes, plan: .none)
                if again.result.outcome != .authenticated {
                    failures.append("k=\(k) \(column): the next insertion gave \(again.result.outcome.rawValue)")
                }
            }
        }
        print("fault matrix: cpsAuthentication (\(rightPIN ? "right" : "wrong") PIN) \(n) APDUs × \(Column.allCases.count) faults = \(cells) cells, \(cells - failures.count) passed")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
