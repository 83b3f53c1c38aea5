/// How much a badge read proves.
public enum BadgeAssurance: String, Sendable, Hashable {
    /// Nothing: only a UID was read. A UID can be copied; it never authenticates anybody.
    case none
    /// The badge proved it holds its AES key diversified from the site master key (DESFire AuthenticateAES,
    /// mutual), and its content was read under the session CMAC.
    case desfireAES = "desfire-aes"
}

/// What a badge says about its holder.
public struct BadgeIdentity: Sendable, Hashable {
    /// The card UID (4, 7 or 10 bytes).
    public var uid: [UInt8]
    /// The badge number written in the badge file (e.g. "B-000417"); nil for a UID-only badge.
    public var badgeNumber: String?
    /// The holder reference written in the badge file (a persona / staff identifier); nil for a UID-only badge.
    public var holder: String?
    /// What this read proves; only `.desfireAES` may be used for an authentication decision.
    public var assurance: BadgeAssurance

    public init(uid: [UInt8], badgeNumber: String?, holder: String?, assurance: BadgeAssurance) {
        self.uid = uid
        self.badgeNumber = badgeNumber
        self.holder = holder
        self.assurance = assurance
    }
}

/// Where a Carte badge keeps its data (our design `[D]`, written by the simulator's `DESFireCard` persona and by
/// enrolment tools): a DESFire application, the AES key number the reader authenticates with, the standard data
/// file holding the badge content, and the AN10922 system identifier.
public struct BadgeApplicationLayout: Sendable, Hashable {
    /// The 3 AID bytes as sent in SelectApplication (LSB first).
    public var aid: [UInt8]
    /// The application key used by readers (diversified with AN10922 from the site master key).
    public var keyNumber: UInt8
    /// The standard data file holding `BadgeContent`.
    public var fileNumber: UInt8
    /// Appended to `UID ‖ AID` to form the AN10922 diversification input.
    public var systemIdentifier: [UInt8]

    public init(aid: [UInt8], keyNumber: UInt8, fileNumber: UInt8, systemIdentifier: [UInt8]) {
        self.aid = aid
        self.keyNumber = keyNumber
        self.fileNumber = fileNumber
        self.systemIdentifier = systemIdentifier
    }

    /// Carte's layout: AID `F5 43 41`, key 1, file 1, system identifier "CARTE-SITE" (personas.json `badges`).
    public static let carte = BadgeApplicationLayout(
        aid: [0xF5, 0x43, 0x41], keyNumber: 1, fileNumber: 1, systemIdentifier: Array("CARTE-SITE".utf8))
}

/// The badge file content (our design `[D]`): byte 0 = layout version `01`, then TLVs with a 1-byte tag and a
/// 1-byte length — `01` badge number (UTF-8), `02` holder reference (UTF-8); unknown tags are skipped — ending at
/// a `00` tag or at the end of the file (the 64-byte file is padded with `00`).
public struct BadgeContent: Sendable, Hashable {
    public var badgeNumber: String
    public var holder: String

    /// - Throws: `BadgeError.malformedResponse` for another layout version, a TLV running past the end, a
    ///   missing badge number or holder, or invalid UTF-8.
    public init(parsing bytes: [UInt8]) throws(BadgeError) {
        guard let version = bytes.first else { throw .malformedResponse("the badge file is empty") }
        guard version == 0x01 else { throw .malformedResponse("badge file layout version \(version) unknown") }
        var number: String?
        var holder: String?
        var i = 1
        while i < bytes.count {
            let tag = bytes[i]
            if tag == 0x00 { break }
            guard i + 1 < bytes.count else { throw .malformedResponse("badge file TLV \(tag) has no length") }
            let len = Int(bytes[i + 1])
            guard i + 2 + len <= bytes.count else {
                throw .malformedResponse("badge file TLV \(tag) runs past the end of the file")
            }
            let value = Array(bytes[(i + 2)..<(i + 2 + len)])
            switch tag {
            case 0x01:
                guard let s = String(validating: value, as: UTF8.self) else {
                    throw .malformedResponse("the badge number is not UTF-8")
                }
                number = s
            case 0x02:
                guard let s = String(validating: value, as: UTF8.self) else {
                    throw .malformedResponse("the holder reference is not UTF-8")
                }
                holder = s
            default: break
            }
            i += 2 + len
        }
        guard let number, !number.isEmpty else { throw .malformedResponse("the badge file has no badge number") }
        guard let holder, !holder.isEmpty else { throw .malformedResponse("the badge file has no holder") }
        self.badgeNumber = number
        self.holder = holder
    }
}

/// What kind of contactless card a PC/SC part 3 ATR announces (`../shared/specs/pcsc-ccid-vpcd-contactless.md`
/// §7.2).
public enum ContactlessCardKind: Sendable, Hashable {
    /// A storage card (MIFARE Classic / Ultralight, FeliCa…): historical bytes `80 4F 0C A0 00 00 03 06 SS NN NN`.
    /// `standard` is SS, `cardName` is NN NN (e.g. `00 01` MIFARE Classic 1K).
    case storageCard(standard: UInt8, cardName: UInt16)
    /// An ISO/IEC 14443-4 card (DESFire, CPS contactless, IAS…): `3B 8n 80 01 …`; its historical bytes are the
    /// ATS historical bytes.
    case iso14443_4(historicalBytes: [UInt8])
    /// Not a PC/SC part 3 contactless ATR.
    case unknown

    /// Classifies an ATR by its structure `3B 8n 80 01 historical… TCK` (never crashes, any input).
    public init(atr: [UInt8]) {
        guard atr.count >= 5, atr[0] == 0x3B, atr[1] & 0xF0 == 0x80, atr[2] == 0x80, atr[3] == 0x01 else {
            self = .unknown
            return
        }
        let n = Int(atr[1] & 0x0F)
        guard atr.count == 4 + n + 1 else {
            self = .unknown
            return
        }
        let hist = Array(atr[4..<(4 + n)])
        if hist.count >= 11, hist[0] == 0x80, hist[1] == 0x4F, hist[2] == 0x0C,
            Array(hist[3..<8]) == [0xA0, 0x00, 0x00, 0x03, 0x06]
        {
            self = .storageCard(standard: hist[8], cardName: UInt16(hist[9]) << 8 | UInt16(hist[10]))
        } else {
            self = .iso14443_4(historicalBytes: hist)
        }
    }
}
