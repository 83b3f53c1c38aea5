import Foundation
import ISO7816

/// The card flows over the real modules, for any transport (PC/SC, USB CCID): a reader's role picks the flow.
/// - patient: `VitaleCardFlow` (Vitale module).
/// - professional and badge: refused `notSupported` until the Authentication and Badges adapters are wired in
///   (the CPS session, PIN, challenge–response and certificate checks live in the Authentication module).
public struct ModuleCardFlowRunner: CardFlowRunner {
    /// Opens the transport of a reader by name (e.g. `{ PCSCCard(readerName: $0) }`).
    let transport: @Sendable (String) async -> (any CardTransport)?
    let today: @Sendable () -> Date

    public init(
        transport: @escaping @Sendable (String) async -> (any CardTransport)?,
        today: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.transport = transport
        self.today = today
    }

    public func run(
        reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        guard let t = await transport(reader.name) else { return .cardRemoved }
        defer { Task { await t.disconnect(.leave) } }
        switch role {
        case .patient:
            return await VitaleCardFlow.identify(transport: t, today: today(), progress: progress)
        case .professional, .badge:
            return .refused(.notSupported)
        }
    }
}
