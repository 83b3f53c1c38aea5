import ISO7816

/// Why reading or authenticating a contactless badge failed, in words the person at the reader can act on.
/// Each case keeps the raw detail (status word, transport error) for logs.
public enum BadgeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reader cannot give a UID: not a contactless slot, or it answered Get UID (`FF CA 00 00 00`) with
    /// `6A 81`, `68 84`, `6E 00` or `6D 00` (PC/SC part 3, `../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.1).
    case uidNotAvailable
    /// The card does not speak DESFire native commands wrapped in ISO (GetVersion refused or not NXP DESFire).
    case notDESFire
    /// The card only carries a UID (a storage card such as MIFARE Classic): a UID can be copied and never proves
    /// who holds the badge, so it cannot authenticate anybody.
    case notAuthenticable(uid: [UInt8])
    /// SelectApplication answered `91 A0`: the badge has no such application.
    case applicationNotFound(aid: [UInt8])
    /// AuthenticateAES failed: `91 AE` from the card, or the card's RndA′ did not match (wrong or forged key).
    case authenticationFailed
    /// `91 40`: the application has no key with this number.
    case noSuchKey(UInt8)
    /// An answer's CMAC did not verify with the session key: altered in transit or not from the authenticated card.
    case macMismatch
    /// `91 9D`: the card refused the command without the right authentication (e.g. ReadData before auth).
    case permissionDenied
    /// A DESFire frame chain (`91 AF` continuations) was broken (`91 1C`) and its restart failed too.
    case frameChainBroken
    /// The card's answer did not have the expected shape (length, layout version, TLV).
    case malformedResponse(String)
    /// A cryptographic operation failed (OpenSSL, random source), with its detail.
    case crypto(String)
    /// The caller passed something unusable (a key that is not 16 bytes, an AID that is not 3 bytes…).
    case invalidArgument(String)
    /// Below the APDU level: no card, card removed, reader gone…
    case transport(TransportError)
    /// A status word this operation does not expect (the raw SW1-SW2 is kept).
    case unexpectedStatus(StatusWord)

    public var description: String {
        switch self {
        case .uidNotAvailable: return "the reader cannot give this card's UID"
        case .notDESFire: return "this card is not a DESFire badge"
        case .notAuthenticable(let uid):
            return "this badge (UID \(uid.hexString(separator: " "))) only carries a UID, which proves nobody's identity"
        case .applicationNotFound(let aid):
            return "the badge has no application \(aid.hexString(separator: " ")) (not one of this site's badges?)"
        case .authenticationFailed: return "the badge failed authentication (wrong key: not one of this site's badges?)"
        case .noSuchKey(let n): return "the badge application has no key number \(n)"
        case .macMismatch: return "the badge's answer failed its integrity check (CMAC); it was altered or forged"
        case .permissionDenied: return "the badge refused access to its data without authentication"
        case .frameChainBroken: return "the exchange with the badge was interrupted twice; present the badge again"
        case .malformedResponse(let why): return "the badge answered something unreadable: \(why)"
        case .crypto(let why): return "a cryptographic operation failed: \(why)"
        case .invalidArgument(let why): return "invalid request: \(why)"
        case .transport(let e): return e.description
        case .unexpectedStatus(let sw): return "the badge answered an unexpected status \(sw)"
        }
    }
}
