import CarteCrypto

/// What was already read from a card, keyed by its serial (EF.SN.ICC): certificates by CDF entry (path + iD), also
/// findable by their SHA-256, the PKCS#15 layout (EF.DIR → ODF → CDF/DODF) and EF.ATR. A card is not read twice for
/// them while the process runs (cps.md §4.3: the Cryptolib caches per card serial as well). A renewed card has a new
/// serial, so it never meets a stale entry; holder data, PIN counters and situations are always read from the card.
public actor CPSCertificateCache {
    public static let shared = CPSCertificateCache()

    private var byEntry: [String: CPSCertificate] = [:]
    private var layouts: [String: CPSSession.Layout] = [:]
    private var efATRs: [String: CPSEFATR?] = [:]
    private var bySHA256: [[UInt8]: CPSCertificate] = [:]

    public init() {}

    static func key(serial: String, path: [UInt8], id: [UInt8]?) -> String {
        "\(serial)|\(path.map { String($0, radix: 16) }.joined(separator: ":"))|\((id ?? []).map { String($0, radix: 16) }.joined())"
    }

    func lookup(serial: String, path: [UInt8], id: [UInt8]?) -> CPSCertificate? {
        byEntry[Self.key(serial: serial, path: path, id: id)]
    }

    func store(_ c: CPSCertificate, serial: String) {
        byEntry[Self.key(serial: serial, path: c.path, id: c.id)] = c
        bySHA256[c.sha256] = c
    }

    func layout(serial: String) -> CPSSession.Layout? { layouts[serial] }
    func store(layout: CPSSession.Layout, serial: String) { layouts[serial] = layout }
    func efATR(serial: String) -> CPSEFATR?? { efATRs[serial] }
    func store(efATR: CPSEFATR?, serial: String) { efATRs[serial] = .some(efATR) }

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
    }
}
