import CPS
import Foundation
import ISO7816

/// How a PIN change or unblock ended (values, not errors).
public enum PINManagementOutcome: String, Sendable, Hashable, Codable {
    /// The PIN was changed (CHANGE REFERENCE DATA `90 00`).
    case changed
    /// The PIN was unblocked and set (RESET RETRY COUNTER `90 00`).
    case unblocked
    /// The current PIN (change) was wrong: `triesLeft` tries remain.
    case wrongPin
    /// The code de déblocage (unblock) was wrong: `triesLeft` PUK tries remain.
    case wrongPuk
    /// The PIN (change) or the code de déblocage (unblock) is blocked.
    case blocked
    /// One try left and the caller did not confirm: nothing was presented.
    case lastTryNotConfirmed
    /// No code was given (or the new PIN is not 4–8 digits): nothing was presented.
    case notPresented
    case cardRemoved
    case notSupported
    case failed
}

/// The result of a PIN change or unblock.
public struct PINManagementResult: Sendable, Hashable {
    public var outcome: PINManagementOutcome
    /// Tries left of the code checked (the PIN for a change, the code de déblocage for an unblock).
    public var triesLeft: Int?
    public var detail: String
}

/// PIN change and unblock with the code de déblocage (cps.md §5), with the guards of authentication: the tries
/// left are read before anything is presented, one try left is refused unless confirmed, each code is presented
/// once, and codes live only in `SecretPIN`s. On a reader with a PIN pad nothing is asked (`notSupported`): codes are
/// never typed on the host there, and MODIFY_PIN_DIRECT is not implemented yet.
public enum CPSPINManagement {
    /// Changes the code porteur: reads the PIN tries, then CHANGE REFERENCE DATA `00 24 00 01` with current + new.
    /// - Parameters: `codes` is called once (after the guards) for (current, new); nil = holder gave none.
    public static func changePIN(
        transport: any CardTransport, confirmLastTry: Bool = false,
        codes: @Sendable () async -> (current: SecretPIN, new: SecretPIN)?
    ) async -> PINManagementResult {
        await run(transport: transport, reference: CPS.pinReference, confirmLastTry: confirmLastTry) { (session: CPSSession) async throws(CPSError) -> PINManagementResult in
            guard let c = await codes() else { return .init(outcome: .notPresented, triesLeft: nil, detail: "no PIN was given") }
            return map(try await session.changePIN(current: c.current, new: c.new), success: .changed, wrong: .wrongPin)
        }
    }

    /// Unblocks the code porteur: reads the tries of the code de déblocage (CHV SDO 02), then RESET RETRY COUNTER
    /// `00 2C 00 01` with the 8-digit code and the new PIN.
    public static func unblockPIN(
        transport: any CardTransport, confirmLastTry: Bool = false,
        codes: @Sendable () async -> (puk: SecretPIN, newPIN: SecretPIN)?
    ) async -> PINManagementResult {
        await run(transport: transport, reference: CPS.pukReference, confirmLastTry: confirmLastTry) { (session: CPSSession) async throws(CPSError) -> PINManagementResult in
            guard let c = await codes() else { return .init(outcome: .notPresented, triesLeft: nil, detail: "no code was given") }
            return map(try await session.unblockPIN(puk: c.puk, newPIN: c.newPIN), success: .unblocked, wrong: .wrongPuk)
        }
    }

    private static func map(_ v: PINVerification, success: PINManagementOutcome, wrong: PINManagementOutcome) -> PINManagementResult {
        switch v {
        case .verified: return .init(outcome: success, triesLeft: nil, detail: "done")
        case .wrongPIN(let n): return .init(outcome: n == 0 ? .blocked : wrong, triesLeft: n, detail: "\(v)")
        case .blocked: return .init(outcome: .blocked, triesLeft: 0, detail: "\(v)")
        default: return .init(outcome: .failed, triesLeft: nil, detail: "\(v)")
        }
    }

    private static func run(
        transport: any CardTransport, reference: UInt8, confirmLastTry: Bool,
        _ body: (CPSSession) async throws(CPSError) -> PINManagementResult
    ) async -> PINManagementResult {
        do {
            let session = try await CPSSession.connect(transport)
            // On a pinpad reader codes are never typed on the host; MODIFY_PIN_DIRECT is not implemented yet.
            if await CPSAuthenticator.pinpadControlCode(transport) != nil {
                return .init(
                    outcome: .notSupported, triesLeft: nil,
                    detail: "this reader has a PIN pad: codes are not typed on the host, and changing them on the pad is not supported yet")
            }
            guard try await session.recognise() == .contact else {
                return .init(outcome: .notSupported, triesLeft: nil, detail: "the PIN is managed over the contact interface only")
            }
            let st = try await session.pinStatus(reference: reference)
            if st.triesLeft == 0 { return .init(outcome: .blocked, triesLeft: 0, detail: "the code is blocked") }
            if st.triesLeft == 1 && !confirmLastTry {
                return .init(outcome: .lastTryNotConfirmed, triesLeft: 1, detail: "one try left: confirm to go on")
            }
            var r = try await body(session)
            if r.triesLeft == nil && r.outcome != .changed && r.outcome != .unblocked { r.triesLeft = st.triesLeft }
            return r
        } catch {
            switch error {
            case .invalidPINFormat(let why): return .init(outcome: .notPresented, triesLeft: nil, detail: why)
            case .cps4NotSupported, .notACPSCard: return .init(outcome: .notSupported, triesLeft: nil, detail: error.description)
            default:
                if let t = error.transportError, t == .cardRemoved || t == .noCard || t == .cardReset {
                    return .init(outcome: .cardRemoved, triesLeft: nil, detail: error.description)
                }
                return .init(outcome: .failed, triesLeft: nil, detail: error.description)
            }
        }
    }
}
