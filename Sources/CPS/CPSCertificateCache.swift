import CarteCrypto
import ISO7816

/// What was already read from a card, keyed by its serial (EF.SN.ICC): certificates by CDF entry (path + iD), also
/// findable by their SHA-256, the PKCS#15 layout (EF.DIR → ODF → CDF/DODF), EF.ATR, the card type of `CPS_ID_CARD`
/// and the lengths of the DER files read before (used only as the Le of the next read). A card is not read twice
/// for them while the process runs (cps.md §4.3: the Cryptolib caches per card serial as well). A renewed card has
/// a new serial, so it never meets a stale entry. Nothing here is trusted without the card: the serial must match
/// first, and the certificate's public key must verify the card's signature over a fresh challenge
/// (`CPSAuthenticator`). Holder names, PIN counters and situations are always read from the card.
public actor CPSCertificateCache {
    public static let shared = CPSCertificateCache()

    private var byEntry: [String: CPSCertificate] = [:]
    private var layouts: [String: CPSSession.Layout] = [:]
    private var efATRs: [String: CPSEFATR?] = [:]
    private var bySHA256: [[UInt8]: CPSCertificate] = [:]
    private var cardTypes: [String: String?] = [:]
    private var fileLengths: [String: Int] = [:]
    /// Card serials, least recently stored first, and the certificate hashes kept for each.
    private var serials: [String] = []
    private var hashesBySerial: [String: [[UInt8]]] = [:]
    /// Cards remembered at most: the least recently stored card is forgotten beyond it, so a terminal that sees
    /// thousands of cards keeps a bounded cache (about 4 KB per card).
    public let maxCards: Int

    public init(maxCards: Int = 256) { self.maxCards = max(1, maxCards) }

    /// `serial|path|id` with every byte as two hex digits (`01 23` and `12 03` never meet).
    static func key(serial: String, path: [UInt8], id: [UInt8]?) -> String {
        "\(serial)|\(path.hexString())|\((id ?? []).hexString())"
    }

    /// Marks `serial` as the most recently stored card, forgetting the oldest beyond `maxCards`.
    private func touch(_ serial: String) {
        if let i = serials.firstIndex(of: serial) {
            if i != serials.count - 1 { serials.append(serials.remove(at: i)) }
            return
        }
        serials.append(serial)
        while serials.count > maxCards { forget(serials.removeFirst()) }
    }

    private func forget(_ serial: String) {
        let prefix = serial + "|"
        byEntry = byEntry.filter { !$0.key.hasPrefix(prefix) }
        fileLengths = fileLengths.filter { !$0.key.hasPrefix(prefix) }
        for h in hashesBySerial.removeValue(forKey: serial) ?? [] { bySHA256[h] = nil }
        layouts[serial] = nil
        efATRs[serial] = nil
        cardTypes[serial] = nil
    }

    func lookup(serial: String, path: [UInt8], id: [UInt8]?) -> CPSCertificate? {
        byEntry[Self.key(serial: serial, path: path, id: id)]
    }

    func store(_ c: CPSCertificate, serial: String) {
        touch(serial)
        byEntry[Self.key(serial: serial, path: c.path, id: c.id)] = c
        bySHA256[c.sha256] = c
        hashesBySerial[serial, default: []].append(c.sha256)
    }

    func layout(serial: String) -> CPSSession.Layout? { layouts[serial] }
    func store(layout: CPSSession.Layout, serial: String) {
        touch(serial)
        layouts[serial] = layout
    }
    func efATR(serial: String) -> CPSEFATR?? { efATRs[serial] }
    func store(efATR: CPSEFATR?, serial: String) {
        touch(serial)
        efATRs[serial] = .some(efATR)
    }

    /// The card type code of `CPS_ID_CARD` (the card's own identification, fixed for the life of a serial);
    /// `.some(nil)` when the card has no such object.
    func cardTypeCode(serial: String) -> String?? { cardTypes[serial] }
    func store(cardTypeCode: String?, serial: String) {
        touch(serial)
        cardTypes[serial] = .some(cardTypeCode)
    }

    /// Length in bytes of the DER file at `path` when it was last read from this card: the Le of the next read
    /// (a longer file is read on from its DER header, a shorter one answers `6C xx`).
    func fileLength(serial: String, path: [UInt8]) -> Int? { fileLengths[Self.key(serial: serial, path: path, id: nil)] }
    func store(fileLength: Int, serial: String, path: [UInt8]) {
        touch(serial)
        fileLengths[Self.key(serial: serial, path: path, id: nil)] = fileLength
    }

    /// The certificate with this SHA-256, if it was read before.
    public func certificate(sha256: [UInt8]) -> CPSCertificate? { bySHA256[sha256] }

    /// Number of certificates held.
    public var count: Int { byEntry.count }

    /// Forgets everything.
    public func removeAll() {
        byEntry.removeAll()
        bySHA256.removeAll()
        layouts.removeAll()
        efATRs.removeAll()
        cardTypes.removeAll()
        fileLengths.removeAll()
        serials.removeAll()
        hashesBySerial.removeAll()
    }

    /// Card serials remembered (least recently stored first).
    public var cardSerials: [String] { serials }
}
