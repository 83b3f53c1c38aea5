/// Where a Carte badge keeps its data (our design `[D]`, written by the simulator's `DESFireCard` persona and by
/// enrolment tools): a DESFire application, the AES key number the reader authenticates with, the standard data
/// file holding the badge content, and the AN10922 system identifier.
public struct BadgeApplicationLayout: Sendable, Hashable {
    /// The 3 AID bytes as sent in SelectApplication (LSB first).
    public var aid: [UInt8]
    /// The application key used by readers (diversified with AN10922 from the site master key).
    public var keyNumber: UInt8
    /// The standard data file holding `BadgeFileContent`.
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
public struct BadgeFileContent: Sendable, Hashable {
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
