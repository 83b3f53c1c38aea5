import Foundation
import ISO7816

/// The card flows over the real modules, for any transport (PC/SC, USB CCID): a reader's role picks the flow.
/// - patient: `VitaleCardFlow` (Vitale module).
/// - professional: `CPSAuthenticationFlow` (Authentication module) when a policy (trust anchors, CRLs) is given,
///   else refused `notSupported`.
/// - badge: `BadgeAuthenticator.tap` (Authentication module, through `TerminalBadges`): DESFire AES with the
///   diversified key, the badge number read under the session, tap & go window; a UID-only card is refused
///   `notSupported`. Without `badges` (no site master key configured) every badge is refused `notSupported`.
public struct ModuleCardFlowRunner: CardFlowRunner {
    /// Opens the transport of a reader by name (e.g. `{ PCSCCard(readerName: $0) }`).
    let transport: @Sendable (String) async -> (any CardTransport)?
    let authentication: CPSAuthenticationFlow?
    let badges: TerminalBadges?
    let today: @Sendable () -> Date

    public init(
        transport: @escaping @Sendable (String) async -> (any CardTransport)?,
        authentication: CPSAuthenticationFlow? = nil, badges: TerminalBadges? = nil, today: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.transport = transport
        self.authentication = authentication
        self.badges = badges
        self.today = today
    }

    public func run(
        reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        guard let t = await transport(reader.name) else { return .cardRemoved }
        defer { Task { await t.disconnect(.leave) } }
        // On the PC/SC connection's own thread: no thread hop per APDU (CardTransport.runFlow).
        return await t.runFlow { () async -> CardFlowOutcome in
            await runRole(t, reader: reader, role: role, atr: atr, pinEntry: pinEntry, progress: progress)
        }
    }

    func runRole(
        _ t: any CardTransport, reader: ReaderDescriptor, role: ReaderRole, atr: [UInt8], pinEntry: any PINEntry,
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        switch role {
        case .patient:
            return await VitaleCardFlow.identify(transport: t, today: today(), progress: progress)
        case .professional:
            guard let authentication else { return .refused(.notSupported) }
            return await authentication.run(
                transport: t, reader: reader, atr: atr, pinEntry: pinEntry, progress: progress)
        case .badge:
            let kind = KnownCard.kind(of: atr)
            guard let badges else {
                await progress(.recognised(kind, isTestCard: false))
                return .refused(.notSupported)
            }
            return await badges.tap(transport: t, kind: kind, isTestCard: false, progress: progress)
        }
    }
}
