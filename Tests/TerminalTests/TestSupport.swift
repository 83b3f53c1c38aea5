import Foundation
import Synchronization

@testable import Terminal

/// A reader event source fed by the test.
final class FakeReaderSource: ReaderEventSource, Sendable {
    let stream: AsyncStream<ReaderHardwareEvent>
    let continuation: AsyncStream<ReaderHardwareEvent>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream() }
    func events() -> AsyncStream<ReaderHardwareEvent> { stream }
}

/// A virtual clock the test moves.
final class VirtualClock: TerminalClock, Sendable {
    let ms = Mutex<TerminalMilliseconds>(0)
    func now() -> TerminalMilliseconds { ms.withLock { $0 } }
    func advance(_ d: TerminalMilliseconds) { ms.withLock { $0 += d } }
}

/// A scripted card flow: recognises CPS ATRs (first byte 0x3B, second 0x65) as CPS needing a keypad PIN "4321",
/// anything else as a Vitale of a fixed patient.
struct FakeFlowRunner: CardFlowRunner {
    static let identity = AuthenticatedProfessional(
        idNat: "899700567890", rpps: "99700567890", nom: "MOREAU", prenom: "PAUL", profession: "Pharmacien",
        cardType: "CPS3")
    static let cpsATR: [UInt8] = [0x3B, 0x65, 0x00, 0x00, 0x9C]
    static let vitaleATR: [UInt8] = [0x3B, 0x7D, 0x13, 0x00]

    func run(
        reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        if atr == Self.cpsATR {
            await progress(.recognised(.cps3, isTestCard: false))
            await progress(.pinRequested(onPinpad: reader.hasPinpad))
            guard let pin = await pinEntry.awaitPIN(reader: reader.name) else { return .cardRemoved }
            return pin.digits == Array("4321".utf8) ? .authenticated(Self.identity, assurance: .cpsPin)
                : .refused(.wrongPin, triesLeft: 2)
        }
        await progress(.recognised(.vitale2, isTestCard: false))
        return .patientIdentified(PatientIdentification(
            serial: "0123456789", beneficiaries: [
                PatientBeneficiary(nom: "BERNARD", prenom: "THOMAS", dateNaissance: "19710901", rang: 1,
                                   nirMasked: "1 71 ••• ••• ••• 38", insMasked: nil, insReason: "no certified NIR",
                                   rightsOpen: true)
            ], insuredNIR: "171096912304538", chosen: 0))
    }
}

/// Reads events from `stream` until one of `type` (included) or `limit` events.
func events(
    _ iterator: inout AsyncStream<TerminalEvent>.Iterator, until type: TerminalEventType, limit: Int = 50
) async -> [TerminalEvent] {
    var out: [TerminalEvent] = []
    while out.count < limit, let e = await iterator.next() {
        out.append(e)
        if e.type == type { break }
    }
    return out
}

func makeService(
    configuration: TerminalConfiguration = TerminalConfiguration(), runner: any CardFlowRunner = FakeFlowRunner(),
    source: (any ReaderEventSource)? = nil, clock: any TerminalClock = VirtualClock(), badges: TerminalBadges? = nil
) throws -> TerminalService {
    let audit = try AuditLog(path: temporaryDirectory() + "/audit.sqlite")
    return TerminalService(
        configuration: configuration, source: source ?? FakeReaderSource(), runner: runner, audit: audit, badges: badges,
        clock: clock)
}
