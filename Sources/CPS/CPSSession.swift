import CarteCrypto
import Foundation
import ISO7816

/// The interface a CPS3 is read through (cps.md §2, §7).
public enum CPSInterface: String, Sendable, Hashable, Codable {
    case contact
    /// ISO/IEC 14443 (PKCS#15 application `…FF 00 20`, technical key only, no PIN).
    case contactless
}

/// The result of presenting a PIN (architecture.md "Values, not exceptions"): what the card or the pinpad said.
public enum PINVerification: Sendable, Hashable, CustomStringConvertible {
    /// `90 00`.
    case verified
    /// `63 Cx`: wrong PIN, `triesLeft` tries remain.
    case wrongPIN(triesLeft: Int)
    /// `69 83` (or `63 C0`): the PIN is blocked.
    case blocked
    /// Pinpad `64 00`: nobody typed in time. No try counted.
    case pinpadTimeout
    /// Pinpad `64 01`: Cancel pressed. No try counted.
    case pinpadCancelled
    /// Pinpad `64 02`: new PIN and confirmation differ. No try counted.
    case pinpadPINsDiffer
    /// Pinpad `64 03`: PIN length outside the allowed range. No try counted.
    case pinpadLengthRejected
    /// Any other status word (the card or reader refused otherwise).
    case refused(StatusWord)

    /// True when the card counted nothing (the PIN never reached the card, or the reader refused it).
    public var costNoTry: Bool {
        switch self {
        case .pinpadTimeout, .pinpadCancelled, .pinpadPINsDiffer, .pinpadLengthRejected: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .verified: return "PIN verified"
        case .wrongPIN(let n): return "wrong PIN, \(n) tries left"
        case .blocked: return "the PIN is blocked"
        case .pinpadTimeout: return "no PIN entered on the pinpad in time"
        case .pinpadCancelled: return "PIN entry cancelled on the pinpad"
        case .pinpadPINsDiffer: return "the new PIN and its confirmation differ"
        case .pinpadLengthRejected: return "the PIN length is not accepted"
        case .refused(let sw): return "refused (status \(sw))"
        }
    }

    /// Maps a status word of VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER (ISO/IEC 7816-4 §11.5.6;
    /// PC/SC v2 part 10 for `64 xx`).
    public init(statusWord sw: StatusWord) {
        switch (sw.sw1, sw.sw2) {
        case (0x90, 0x00): self = .verified
        case (0x63, 0xC0): self = .blocked
        case (0x63, let x) where x & 0xF0 == 0xC0: self = .wrongPIN(triesLeft: Int(x & 0x0F))
        case (0x69, 0x83), (0x69, 0x84): self = .blocked
        case (0x64, 0x00): self = .pinpadTimeout
        case (0x64, 0x01): self = .pinpadCancelled
        case (0x64, 0x02): self = .pinpadPINsDiffer
        case (0x64, 0x03): self = .pinpadLengthRejected
        default: self = .refused(sw)
        }
    }
}

/// Everything `carte read` shows for a CPS (cli.md `carte read`, CPS keys).
public struct CPSCardSummary: Sendable {
    public var interface: CPSInterface
    public var atr: [UInt8]
    public var serial: CPSSerialNumber?
    public var efATR: CPSEFATR?
    public var holder: CPSHolder
    public var certificates: [CPSCertificate]
    /// Tries left of the code porteur (nil on the contactless interface, which has no PIN).
    public var pinTriesLeft: Int?
}

/// A CPS3 card session over the APDU pipeline (cps.md §4–§7, §10).
///
/// Reads use the forms the Cryptolib and OpenSC send: READ BINARY by SFI for EF.ATR/EF.SN.ICC/EF.DIR, SELECT by
/// path with `P1 = 09` (path including `3F00`) or by FID under the current DF (`P1 = 02`), always with `P2 = 0C` (no
/// FCP: a file's length comes from its DER header, or from the card's `6C xx` for a short last chunk), PKCS#15
/// discovery through EF.DIR → ODF → CDF/DODF, GET DATA on the CHV SDO (or VERIFY without data) for the PIN counters;
/// the simulator's [D] file identifiers (cps.md §11.2) are used only when discovery finds nothing. Reads go in the
/// largest chunks the card (EF.ATR I/O buffer sizes) and the reader allow (Le = `00`, 256 bytes, on T=0). What
/// does not change for a card serial (PKCS#15 layout, certificates, card type, DER file lengths) is kept in a
/// `CPSCertificateCache`. Status words the operation can live with (`6A 82` absent file, `6A 88` absent SDO) are
/// answers, not errors.
public actor CPSSession {
    public nonisolated let channel: APDUChannel
    private let cache: CPSCertificateCache

    private var interfaceValue: CPSInterface?
    private var efATRValue: CPSEFATR??
    private var serialValue: CPSSerialNumber?
    private var layout: Layout?
    private var holderValue: CPSHolder?
    private var certificatesValue: [CPSCertificate]?
    /// Certificates already obtained in this session, by path.
    private var certificatesRead: [[UInt8]: CPSCertificate] = [:]
    /// The code porteur was verified in this card session (cleared by nothing: a reset ends the session).
    public private(set) var pinVerified = false
    /// Path of the current DF as far as this session knows; `nil` when unknown (at connect: another application
    /// may have left the card in any DF, since connecting does not reset it).
    private var currentDF: [UInt8]?

    struct Layout: Sendable {
        var applicationPath: [UInt8]
        var certificates: [PKCS15Entry]
        /// The DODF files the ODF names (absolute paths), read on first need (`dataObjectEntries(needing:)`).
        var dataObjectDirectories: [[UInt8]] = []
        /// The DODF entries read so far.
        var dataObjects: [PKCS15Entry] = []
        /// Every DODF was read to its end (false: not read yet, or read only up to the entries an authentication
        /// needs).
        var dataObjectsComplete = false
    }

    public init(channel: APDUChannel, certificateCache: CPSCertificateCache = .shared) {
        self.channel = channel
        self.cache = certificateCache
    }

    /// Connects `transport` and opens a session (T=0 and T=1 offered; the contact CPS3 is T=0 only).
    /// - Throws: `CPSError.card` when the connection fails.
    public static func connect(
        _ transport: any CardTransport, certificateCache: CPSCertificateCache = .shared
    ) async throws(CPSError) -> CPSSession {
        do {
            return CPSSession(channel: try await APDUChannel.connect(transport), certificateCache: certificateCache)
        } catch { throw .card(error) }
    }

    public nonisolated var atr: [UInt8] { channel.atr }

    // MARK: Commands

    func send(_ c: CommandAPDU) async throws(CPSError) -> ResponseAPDU {
        do { return try await channel.send(c) } catch { throw .card(error) }
    }

    // MARK: Recognition

    /// Which CPS3 interface this is: from the ATR (cps.md §2.2 masks, through `KnownCard`), else from a probing
    /// SELECT of the PKCS#15 application AIDs (contact, then contactless).
    /// - Throws: `CPSError.cps4NotSupported`, `.notACPSCard(atr:)`, `.card`.
    public func recognise() async throws(CPSError) -> CPSInterface {
        if let i = interfaceValue { return i }
        let kind = KnownCard.kind(of: channel.atr)
        let found: CPSInterface
        switch kind {
        case .cps3: found = .contact
        case .cps3Contactless: found = .contactless
        case .cps4: throw .cps4NotSupported
        case .vitale1, .vitale2, .desfire, .iso14443: throw .notACPSCard(atr: channel.atr)
        case .unknown:
            currentDF = nil
            if try await send(CPS.selectAID(CPS.contactAID)).statusWord == .success {
                found = channel.readerCapabilities.isContactless ? .contactless : .contact
            } else if try await send(CPS.selectAID(CPS.contactlessAID)).statusWord == .success {
                found = .contactless
            } else {
                throw .notACPSCard(atr: channel.atr)
            }
        }
        interfaceValue = found
        return found
    }

    // MARK: MF-level files

    /// Largest READ BINARY chunk, bytes: the reader's limit, capped by the card's EF.ATR buffer size when known.
    func chunkSize() -> Int {
        var n = channel.maxReadChunk
        if case .some(.some(let e)) = efATRValue, let m = e.maxResponseData, m > 0 { n = min(n, m) }
        return max(1, n)
    }

    /// EF.ATR by SFI `1D` (one READ BINARY). `nil` when the card has none (`6A 82`).
    /// - Throws: `CPSError.malformed`, `.card`.
    public func readEFATR() async throws(CPSError) -> CPSEFATR? {
        if case .some(let v) = efATRValue { return v }
        let serial = try await readSerial().cardNumber
        if case .some(let v) = await cache.efATR(serial: serial) {
            efATRValue = .some(v)
            return v
        }
        try await selectDF([0x3F, 0x00])
        let bytes: [UInt8]
        do { bytes = try await channel.readBinary(sfi: CPS.sfiATR) } catch {
            if case .unexpectedStatus(let sw, _) = error, sw.value == 0x6A82 || sw.value == 0x6986 {
                efATRValue = .some(nil)
                await cache.store(efATR: nil, serial: serial)
                return nil
            }
            throw .card(error)
        }
        let v = try CPSEFATR(parsing: bytes)
        efATRValue = .some(v)
        await cache.store(efATR: v, serial: serial)
        return v
    }

    /// The card serial from EF.SN.ICC by SFI `1C`.
    /// - Parameter fresh: read the card again instead of returning the value read before (card-swap checks).
    /// - Throws: `CPSError.malformed`, `.missing`, `.card`.
    ///
    /// When this session does not know the current DF (at connect; after a reset the MF is the current DF, ISO/IEC
    /// 7816-4 §7.1.1), the READ BINARY by SFI `1C` is sent first without a SELECT; a card left in another DF answers
    /// `6A 82` (or with a file that is not EF.SN.ICC) and the MF is selected (`00 A4 09 0C 02 3F 00`) before reading
    /// again. A read that gives a well-formed EF.SN.ICC means the MF is current (EF.SN.ICC lives there, cps.md §4.1).
    public func readSerial(fresh: Bool = false) async throws(CPSError) -> CPSSerialNumber {
        if !fresh, let s = serialValue { return s }
        if currentDF == nil {
            if let s = try await readSerialInCurrentDF() {
                currentDF = [0x3F, 0x00]
                if serialValue == nil { serialValue = s }
                return s
            }
            currentDF = nil
        }
        try await selectDF([0x3F, 0x00])
        let bytes: [UInt8]
        do { bytes = try await channel.readBinary(sfi: CPS.sfiSerial, length: 12) } catch {
            if case .unexpectedStatus(let sw, _) = error, sw.value == 0x6A82 { throw .missing("EF.SN.ICC (card serial)") }
            throw .card(error)
        }
        let s = try CPSSerialNumber(parsing: bytes)
        if serialValue == nil { serialValue = s }
        return s
    }

    /// READ BINARY SFI `1C` in whatever DF is current: the serial, or `nil` when that DF has no such EF (`6A 82`,
    /// `69 86`, `69 81`, `69 82`, `6A 86`) or the EF there is not an EF.SN.ICC.
    private func readSerialInCurrentDF() async throws(CPSError) -> CPSSerialNumber? {
        let bytes: [UInt8]
        do { bytes = try await channel.readBinary(sfi: CPS.sfiSerial, length: 12) } catch {
            if case .unexpectedStatus(let sw, _) = error, [0x6A82, 0x6986, 0x6981, 0x6982, 0x6A86].contains(sw.value) {
                return nil
            }
            throw .card(error)
        }
        return try? CPSSerialNumber(parsing: bytes)
    }

    // MARK: PIN

    /// The tries left of PIN `reference`, read WITHOUT presenting anything: GET DATA on the CHV SDO with the MF
    /// selected (cps.md §5 [C]); when the card has no such SDO (`6A 88`, `6D 00`, `6A 86`…), VERIFY with no data
    /// (`63 Cx`, `69 83`; `90 00` = already verified in this session).
    /// - Throws: `CPSError.contactOnly` on the contactless interface; `.refused`, `.malformed`, `.card`.
    ///
    /// With `emptyVerifyFirst`, VERIFY with no data (`00 20 00 <ref>`, 7 characters on T=0; what OpenSC's IAS-ECC
    /// driver sends to learn whether a PIN is verified) is asked first, from whatever DF is current (the PIN is
    /// global, cps.md §5), and GET DATA is the fallback when the card does not answer it with `63 Cx`, `69 83` or
    /// `90 00`. VERIFY with no data never counts a try (ISO/IEC 7816-4 §11.5.6).
    public func pinStatus(reference: UInt8 = CPS.pinReference, emptyVerifyFirst: Bool = false) async throws(CPSError)
        -> CPSPinStatus
    {
        if try await recognise() == .contactless { throw .contactOnly("the PIN") }
        if emptyVerifyFirst {
            let v = try await send(CPS.verifyStatusCommand(reference: reference))
            switch PINVerification(statusWord: v.statusWord) {
            case .wrongPIN(let n): return CPSPinStatus(triesLeft: n)
            case .blocked: return CPSPinStatus(triesLeft: 0)
            case .verified: return CPSPinStatus(triesLeft: 3, maximumTries: 3)
            default: break
            }
        }
        try await selectDF([0x3F, 0x00])
        let r = try await send(CPS.pinStatusCommand(reference: reference))
        if r.statusWord == .success, let s = try? CPSPinStatus(parsingSDO: r.data) { return s }
        let v = try await send(CPS.verifyStatusCommand(reference: reference))
        switch PINVerification(statusWord: v.statusWord) {
        case .wrongPIN(let n): return CPSPinStatus(triesLeft: n)
        case .blocked: return CPSPinStatus(triesLeft: 0)
        case .verified:
            // Already verified in this card session: the counter is at its maximum.
            return CPSPinStatus(triesLeft: 3, maximumTries: 3)
        default: throw .refused(v.statusWord, command: "VERIFY (PIN status)")
        }
    }

    /// Presents a PIN typed on the host (keypad entry): `00 20 00 <ref> Lc <ASCII digits>` (cps.md §5). The
    /// command bytes are wiped after sending; the PIN is never logged. Call it once per PIN typed: this method
    /// never retries.
    /// - Throws: `CPSError.invalidPINFormat` (no try used), `.contactOnly`, `.card`.
    public func verify(pin: SecretPIN, reference: UInt8 = CPS.pinReference) async throws(CPSError) -> PINVerification {
        if try await recognise() == .contactless { throw .contactOnly("the PIN") }
        guard (4...8).contains(pin.count) else { throw .invalidPINFormat("a CPS PIN has 4 to 8 digits") }
        let sw = try await sendSecret(header: [0x00, 0x20, 0x00, reference], pins: [pin])
        let v = PINVerification(statusWord: sw)
        if v == .verified && reference == CPS.pinReference { pinVerified = true }
        return v
    }

    /// Presents the PIN on the reader's pinpad: VERIFY_PIN_DIRECT (PC/SC v2 part 10 §2.5.2) with a
    /// PIN_VERIFY_STRUCTURE for `00 20 00 <ref>`, ASCII digits, 4…8 digits. The PIN never reaches the host.
    /// - Parameter controlCode: the reader's VERIFY_PIN_DIRECT ioctl (from GET_FEATURE_REQUEST).
    /// - Throws: `CPSError.card` (transport), `.contactOnly`.
    public func verifyOnPinpad(
        controlCode: UInt32, reference: UInt8 = CPS.pinReference, profile: PinpadProfile = PinpadProfile(lcPlaceholder: true)
    ) async throws(CPSError) -> PINVerification {
        if try await recognise() == .contactless { throw .contactOnly("the PIN") }
        let structure: PINVerifyStructure
        do {
            structure = try PINVerifyStructure(
                header: [0x00, 0x20, 0x00, reference], format: .ascii, minPIN: 4, maxPIN: 8, profile: profile,
                langID: 0x040C)
        } catch { throw .invalidPINFormat(error.description) }
        let answer: [UInt8]
        do { answer = try await channel.transport.control(code: controlCode, data: structure.encoded) } catch {
            throw .card(.transport(error))
        }
        guard answer.count >= 2 else { throw .card(.malformedResponse("the pinpad answered \(answer.count) bytes")) }
        let v = PINVerification(statusWord: StatusWord(sw1: answer[answer.count - 2], sw2: answer[answer.count - 1]))
        if v == .verified && reference == CPS.pinReference { pinVerified = true }
        return v
    }

    /// CHANGE REFERENCE DATA `00 24 00 01 Lc <old><new>` (cps.md §5 [I]).
    /// - Throws: `CPSError.invalidPINFormat` (nothing sent), `.contactOnly`, `.card`.
    public func changePIN(current: SecretPIN, new: SecretPIN) async throws(CPSError) -> PINVerification {
        if try await recognise() == .contactless { throw .contactOnly("the PIN") }
        guard (4...8).contains(current.count), (4...8).contains(new.count) else {
            throw .invalidPINFormat("a CPS PIN has 4 to 8 digits")
        }
        let sw = try await sendSecret(header: [0x00, 0x24, 0x00, CPS.pinReference], pins: [current, new])
        return PINVerification(statusWord: sw)
    }

    /// RESET RETRY COUNTER with the code de déblocage and the new PIN: `00 2C 00 01 Lc <PUK 8><new PIN>`
    /// (cps.md §5, the Cryptolib's form). The answer's tries refer to the PUK.
    /// - Throws: `CPSError.invalidPINFormat` (nothing sent), `.contactOnly`, `.card`.
    public func unblockPIN(puk: SecretPIN, newPIN: SecretPIN) async throws(CPSError) -> PINVerification {
        if try await recognise() == .contactless { throw .contactOnly("the PIN") }
        guard puk.count == 8 else { throw .invalidPINFormat("the code de déblocage has 8 digits") }
        guard (4...8).contains(newPIN.count) else { throw .invalidPINFormat("a CPS PIN has 4 to 8 digits") }
        let sw = try await sendSecret(header: [0x00, 0x2C, 0x00, CPS.pinReference], pins: [puk, newPIN])
        return PINVerification(statusWord: sw)
    }

    /// Sends header ‖ Lc ‖ the PINs' digits as raw bytes, bypassing the channel's transcript hook, and wipes the
    /// command afterwards.
    private func sendSecret(header: [UInt8], pins: [SecretPIN]) async throws(CPSError) -> StatusWord {
        var command = header
        for p in pins { p.withDigits { command += $0 } }
        command.insert(UInt8(command.count - 4), at: 4)
        defer { SecretPIN.wipe(&command) }
        // Straight to the transport, not through the channel: its transcript hook records raw bytes, and a PIN
        // must never reach a transcript or a log. The answer is a status word only (case 3, no 61xx).
        let raw: [UInt8]
        do { raw = try await channel.transport.transmit(command) } catch { throw .card(.transport(error)) }
        guard raw.count >= 2 else { throw .card(.malformedResponse("\(raw.count) bytes in answer to a PIN command")) }
        return StatusWord(sw1: raw[raw.count - 2], sw2: raw[raw.count - 1])
    }

    // MARK: PKCS#15 discovery

    /// The PKCS#15 layout of this card: from the cache when this card serial was discovered before, else EF.DIR →
    /// ODF → CDF and DODF (ISO/IEC 7816-15 §8; cps.md §3.1, §4.2). A card without EF.DIR (`6A 82`) uses the known
    /// application path (`3F00/0001` contact, `3F00/0002` contactless); any other failure reading EF.DIR (mute
    /// card, refused read) is an error. EF.ATR is read only when the reader could take answers longer than 256
    /// bytes (the CPS3's EF.ATR allows 256, cps.md §4.1, the short-APDU maximum anyway).
    /// - Throws: `CPSError.card`, `.refused`, `.malformed`.
    func discover() async throws(CPSError) -> Layout {
        if let l = layout { return l }
        let iface = try await recognise()
        let serial = try await readSerial().cardNumber
        if let l = await cache.layout(serial: serial) {
            layout = l
            return l
        }
        if channel.maxReadChunk > 256 { _ = try await readEFATR() }
        let aid = iface == .contact ? CPS.contactAID : CPS.contactlessAID
        var appPath: [UInt8] = iface == .contact ? [0x3F, 0x00, 0x00, 0x01] : [0x3F, 0x00, 0x00, 0x02]
        if let dir = try await readEFDIR(),
            let app = PKCS15Application.records(in: dir).first(where: { $0.aid == aid }), let p = app.path, p.count >= 2
        {
            appPath = p.starts(with: [0x3F, 0x00]) ? p : [0x3F, 0x00] + p
        }
        var certificates: [PKCS15Entry] = []
        var dodfs: [[UInt8]] = []
        if let odfBytes = try await readFile(appPath + [0x50, 0x31]) {
            let odf = PKCS15ObjectDirectory(parsing: odfBytes)
            for p in odf.certificates {
                if let b = try await readFile(absolute(p, in: appPath)) { certificates += PKCS15Entry.entries(in: b) }
            }
            dodfs = odf.dataObjects.map { absolute($0, in: appPath) }
        }
        certificates = certificates.map { var e = $0; e.path = absolute(e.path, in: appPath); return e }
        let l = Layout(
            applicationPath: appPath, certificates: certificates, dataObjectDirectories: dodfs, dataObjects: [],
            dataObjectsComplete: dodfs.isEmpty)
        layout = l
        await cache.store(layout: l, serial: serial)
        return l
    }

    /// The DODF entries (absolute paths), read from the DODF files on first need.
    /// - Parameter labels: the labels the caller needs; the DODF is then read only until they are all listed (an
    ///   authentication needs `CPS_ID_CARD` and `CPS_NAME_PS`, at the head of the DODF); `nil` reads it all.
    /// - Throws: `CPSError.card`, `.refused`.
    func dataObjectEntries(needing labels: Set<String>? = nil) async throws(CPSError) -> [PKCS15Entry] {
        var l = try await discover()
        if l.dataObjectsComplete { return l.dataObjects }
        if let labels, labels.isSubset(of: Set(l.dataObjects.map(\.label))) { return l.dataObjects }
        var entries: [PKCS15Entry] = []
        var complete = true
        for p in l.dataObjectDirectories {
            var stop: (@Sendable ([UInt8]) -> Bool)? = nil
            if let wanted = labels {
                stop = { bytes in wanted.isSubset(of: Set(PKCS15Entry.entries(in: bytes).map(\.label))) }
            }
            guard let (b, whole) = try await readFile(p, until: stop) else { continue }
            entries += PKCS15Entry.entries(in: b)
            if !whole { complete = false }
            if let labels, labels.isSubset(of: Set(entries.map(\.label))) {
                if p != l.dataObjectDirectories.last { complete = false }
                break
            }
        }
        let app = l.applicationPath
        l.dataObjects = entries.map { var e = $0; e.path = absolute(e.path, in: app); return e }
        l.dataObjectsComplete = complete
        layout = l
        if let serial = serialValue?.cardNumber { await cache.store(layout: l, serial: serial) }
        return l.dataObjects
    }

    /// EF.DIR by SFI `1E` with the MF current; `nil` only when the card has none (`6A 82`).
    /// - Throws: `CPSError.card` for anything else (a mute card, a refused read, a malformed answer).
    func readEFDIR() async throws(CPSError) -> [UInt8]? {
        try await selectDF([0x3F, 0x00])
        do { return try await channel.readBinary(sfi: CPS.sfiDIR) } catch {
            if case .unexpectedStatus(let sw, _) = error, sw.value == 0x6A82 { return nil }
            throw .card(error)
        }
    }

    nonisolated func absolute(_ path: [UInt8], in app: [UInt8]) -> [UInt8] {
        if path.starts(with: [0x3F, 0x00]) { return path }
        return app + path
    }

    /// Makes `path` the current DF (`00 A4 09 0C Lc <path>`, the Cryptolib's form, cps.md §6.3 A) unless it is.
    func selectDF(_ path: [UInt8]) async throws(CPSError) {
        guard currentDF != path else { return }
        let r = try await send(CPS.selectPath(path, fcp: false))
        guard r.statusWord == .success else {
            currentDF = nil
            throw .refused(r.statusWord, command: "SELECT \(path.hexString(separator: " "))")
        }
        currentDF = path
    }

    /// Selects the EF at `path` (from the MF, `3F00` included) without asking for the FCP (`P2 = 0C`): by its FID
    /// under the current DF (`00 A4 02 0C 02 <FID>`, 10 characters on T=0) when that DF is the EF's parent, else by
    /// path (`00 A4 09 0C Lc <path>`). `false` when the file is absent (`6A 82`, `6A 86`, `6A 87`).
    /// - Throws: `CPSError.refused` for other status words, `.card`.
    func selectEF(_ path: [UInt8]) async throws(CPSError) -> Bool {
        let parent = Array(path.dropLast(2))
        let command =
            path.count >= 4 && currentDF == parent ? CPS.selectEF(fid: Array(path.suffix(2))) : CPS.selectPath(path, fcp: false)
        let r = try await send(command)
        switch r.statusWord.value {
        case 0x9000:
            currentDF = parent
            return true
        case 0x6A82, 0x6A86, 0x6A87: return false
        default:
            currentDF = nil
            throw .refused(r.statusWord, command: "SELECT \(path.hexString(separator: " "))")
        }
    }

    /// Total length (header + value) of the DER element starting `bytes`, once its header is there.
    static func derLength(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2, bytes[0] != 0x00, bytes[0] != 0xFF, bytes[0] & 0x1F != 0x1F else { return nil }
        let l = bytes[1]
        if l < 0x80 { return 2 + Int(l) }
        let n = Int(l & 0x7F)
        guard n >= 1, n <= 3, bytes.count >= 2 + n else { return nil }
        var len = 0
        for k in 0..<n { len = len << 8 | Int(bytes[2 + k]) }
        return 2 + n + len
    }

    /// Selects `path` (P2 `0C`, no FCP) and reads the EF in as few READ BINARY commands as the chunk size allows:
    /// Le = `00` (256) per chunk, the card's `6C xx` giving the exact length of a short last chunk. `nil` when the
    /// file is absent (`6A 82`).
    /// - Parameters:
    ///   - der: the file holds one DER element (certificate, holder data object): reading stops at its end
    ///     (padding after it is not read) and the last chunk asks exactly the bytes left; the length read is kept
    ///     in the cache (by card serial and path) as the Le of the next read of that file.
    ///   - prefix: read only the first `prefix` bytes.
    /// - Throws: `CPSError.pinRequired` (`69 82`), `.refused`, `.card`.
    func readFile(_ path: [UInt8], der: Bool = false, prefix: Int? = nil) async throws(CPSError) -> [UInt8]? {
        try await readFile(path, der: der, prefix: prefix, until: nil)?.bytes
    }

    /// `readFile(_:der:prefix:)` that may stop early: after each chunk, `until` is asked whether the bytes read
    /// so far are enough. `whole` is false when it stopped the read before the end of the file.
    func readFile(
        _ path: [UInt8], der: Bool = false, prefix: Int? = nil, until: (@Sendable ([UInt8]) -> Bool)?
    ) async throws(CPSError) -> (bytes: [UInt8], whole: Bool)? {
        guard try await selectEF(path) else { return nil }
        let serial = serialValue?.cardNumber
        var hint: Int? = nil
        if der, prefix == nil, let serial { hint = await cache.fileLength(serial: serial, path: path) }
        let chunk = chunkSize()
        var out: [UInt8] = []
        do {
            while true {
                var expected = prefix
                if expected == nil, der { expected = Self.derLength(out) ?? hint }
                let want = expected.map { min(chunk, $0 - out.count) } ?? chunk
                if want <= 0 { break }
                let part = try await channel.readBinary(offset: out.count, length: want)
                out += part
                if part.count < want { break }
                if let until, until(out) { return (out, false) }
            }
        } catch {
            if case .unexpectedStatus(let sw, _) = error {
                if sw.value == 0x6982 { throw .pinRequired("file \(path.hexString(separator: " "))") }
                if sw.value == 0x6B00, !out.isEmpty { return (out, true) }
            }
            throw .card(error)
        }
        if der, prefix == nil, let total = Self.derLength(out), total <= out.count {
            out = Array(out[0..<total])
            if let serial { await cache.store(fileLength: total, serial: serial, path: path) }
        }
        return (out, true)
    }

    // MARK: Holder data

    /// The holder data (`CPS_ID_CARD`, `CPS_NAME_PS`, `CPS_INFO_PS`, found through the DODF; [D] `D101`, `D102`,
    /// `D104` of DF 0001 when the DODF lists nothing). On the contactless interface the business objects are not
    /// read (cps.md §7 [U]): the holder comes from the technical certificate.
    /// - Throws: `CPSError.missing` when no holder object exists, `.malformed`, `.card`.
    public func readHolder() async throws(CPSError) -> CPSHolder {
        if let h = holderValue { return h }
        let l = try await discover()
        if try await recognise() == .contactless {
            let h = try await holderFromTechnicalCertificate()
            holderValue = h
            return h
        }
        let entries = try await dataObjectEntries()
        var h = CPSHolder()
        var found = false
        if let b = try await readFile(holderPath("CPS_ID_CARD", 0xD101, in: l, entries: entries), der: true) { try h.apply(idCard: b); found = true }
        if let b = try await readFile(holderPath("CPS_NAME_PS", 0xD102, in: l, entries: entries), der: true) { try h.apply(name: b); found = true }
        if let b = try await readFile(holderPath("CPS_INFO_PS", 0xD104, in: l, entries: entries), der: true) { try h.apply(info: b); found = true }
        guard found else { throw .missing("holder data (CPS_NAME_PS)") }
        if let serial = serialValue?.cardNumber { await cache.store(cardTypeCode: h.cardTypeCode, serial: serial) }
        holderValue = h
        return h
    }

    /// Only the holder fields an authentication decides on (`CPSAuthenticator`): the card type (first field of
    /// `CPS_ID_CARD`, the card's own identification, fixed for its serial: read once per card serial, and then only
    /// its first bytes) and `CPS_NAME_PS` (identifier, names, profession; always read from the card). `CPS_INFO_PS`
    /// is not read. Contactless: the holder named by the technical certificate.
    /// - Throws: `CPSError.missing` when the card has no `CPS_NAME_PS`, `.malformed`, `.card`.
    public func readHolderForAuthentication() async throws(CPSError) -> CPSHolder {
        if let h = holderValue { return h }
        let l = try await discover()
        if try await recognise() == .contactless { return try await readHolder() }
        let serial = try await readSerial().cardNumber
        let known = await cache.cardTypeCode(serial: serial)
        let entries = try await dataObjectEntries(needing: known == nil ? ["CPS_ID_CARD", "CPS_NAME_PS"] : ["CPS_NAME_PS"])
        var h = CPSHolder()
        if case .some(let code) = known {
            h.cardTypeCode = code
            h.cardType = code.flatMap(CPSCardType.init(code:))
        } else {
            let code = try await readCardTypeCode(holderPath("CPS_ID_CARD", 0xD101, in: l, entries: entries))
            h.cardTypeCode = code
            h.cardType = code.flatMap(CPSCardType.init(code:))
            await cache.store(cardTypeCode: code, serial: serial)
        }
        guard let name = try await readFile(holderPath("CPS_NAME_PS", 0xD102, in: l, entries: entries), der: true) else {
            throw .missing("holder data (CPS_NAME_PS)")
        }
        try h.apply(name: name)
        return h
    }

    /// The first field (card type) of `CPS_ID_CARD` at `path` from its first 16 bytes (the whole object only when
    /// that field is longer); `nil` when the card has no such object.
    func readCardTypeCode(_ path: [UInt8]) async throws(CPSError) -> String? {
        guard let head = try await readFile(path, prefix: 16) else { return nil }
        if let first = Self.firstElement(ofSequence: head) {
            var h = CPSHolder()
            try h.apply(idCard: [0x30] + BERTLV.encodeLength(first.count) + first)
            return h.cardTypeCode
        }
        guard let whole = try await readFile(path, der: true) else { return nil }
        var h = CPSHolder()
        try h.apply(idCard: whole)
        return h.cardTypeCode
    }

    /// The bytes (tag, length, value) of the first element inside the SEQUENCE starting `bytes`, when complete.
    static func firstElement(ofSequence bytes: [UInt8]) -> [UInt8]? {
        guard bytes.first == 0x30, bytes.count >= 2 else { return nil }
        let l = bytes[1]
        let start = l < 0x80 ? 2 : 2 + Int(l & 0x7F)
        guard l != 0x80, start + 2 <= bytes.count else { return nil }
        let tag = bytes[start]
        guard tag & 0x1F != 0x1F, bytes[start + 1] < 0x80 else { return nil }
        let end = start + 2 + Int(bytes[start + 1])
        guard end <= bytes.count else { return nil }
        return Array(bytes[start..<end])
    }

    /// The DODF entry labelled `label`, else the [D] FID `fallback` in the application DF.
    nonisolated func holderPath(_ label: String, _ fallback: UInt16, in l: Layout, entries: [PKCS15Entry]) -> [UInt8] {
        entries.first { $0.label == label }?.path ?? l.applicationPath + [UInt8(fallback >> 8), UInt8(fallback & 0xFF)]
    }

    private func holderFromTechnicalCertificate() async throws(CPSError) -> CPSHolder {
        guard let tech = try await certificate(.technical) else { throw .missing("technical certificate") }
        var h = CPSHolder()
        let c = CertificateHolder(tech.certificate)
        h.idNatValue = c.idNat
        h.idNatType = c.idNat?.first.flatMap { Int(String($0)) }
        if let r = c.rpps { h.idNatType = 8; h.idNatValue = r }
        h.nomExercice = c.nom
        h.prenomExercice = c.prenom
        return h
    }

    /// The situations d'exercice (`CPS_ACTIVITY_01_PS` … `_16_PS`, PIN-protected; [D] `D120`…`D12F`). Gaps are
    /// normal (cps.md §4.3).
    /// - Throws: `CPSError.pinRequired` before a verified PIN (nothing is sent), `.contactOnly`, `.malformed`, `.card`.
    public func readSituations() async throws(CPSError) -> [CPSSituation] {
        if try await recognise() == .contactless { throw .contactOnly("the situations d'exercice") }
        guard pinVerified else { throw .pinRequired("the situations d'exercice") }
        let l = try await discover()
        var paths: [(Int, [UInt8])] = try await dataObjectEntries().compactMap { e in
            guard e.label.hasPrefix("CPS_ACTIVITY_"), let n = Int(e.label.dropFirst(13).prefix(2)) else { return nil }
            return (n, e.path)
        }
        if paths.isEmpty { paths = (1...16).map { ($0, l.applicationPath + [0xD1, 0x1F + UInt8($0)]) } }
        var out: [CPSSituation] = []
        for (n, p) in paths.sorted(by: { $0.0 < $1.0 }) {
            guard let b = try await readFile(p), b.contains(where: { $0 != 0x00 && $0 != 0xFF }) else { continue }
            out.append(try CPSSituation(parsing: b, index: n))
        }
        return out
    }

    // MARK: Certificates

    /// The certificates listed by the CDF (contact: signature and authentication; contactless: technical), each
    /// read once per card serial (`CPSCertificateCache`); [D] `C001`/`C002` (contact) or `C003` (contactless) when
    /// the CDF lists nothing.
    /// - Throws: `CPSError.certificate` when one does not parse, `.card`.
    public func readCertificates() async throws(CPSError) -> [CPSCertificate] {
        if let c = certificatesValue { return c }
        var out: [CPSCertificate] = []
        for e in try await certificateEntries() {
            if let c = try await certificate(entry: e) { out.append(c) }
        }
        certificatesValue = out
        return out
    }

    /// The one certificate with this usage (e.g. `.authentication` for an authentication: the signature certificate
    /// is then not read), from this session, else the cache (same card serial, same CDF entry), else the card;
    /// `nil` when the CDF lists none.
    /// - Throws: `CPSError.certificate` when it does not parse, `.card`.
    public func certificate(_ usage: CPSCertificate.Usage) async throws(CPSError) -> CPSCertificate? {
        if let c = certificatesValue { return c.first { $0.usage == usage } }
        guard let e = try await certificateEntries().first(where: { CPSCertificate.usage(label: $0.label, id: $0.id) == usage })
        else { return nil }
        return try await certificate(entry: e)
    }

    /// The CDF entries, or the [D] ones when the CDF lists nothing.
    func certificateEntries() async throws(CPSError) -> [PKCS15Entry] {
        let l = try await discover()
        if !l.certificates.isEmpty { return l.certificates }
        if try await recognise() == .contact {
            return [
                PKCS15Entry(label: "Certificat de Signature CPS", authID: nil, id: nil, path: l.applicationPath + [0xC0, 0x01]),
                PKCS15Entry(label: "Certificat d'Authentification CPS", authID: nil, id: nil, path: l.applicationPath + [0xC0, 0x02]),
            ]
        }
        return [PKCS15Entry(label: "Certificat Technique CPS", authID: nil, id: nil, path: l.applicationPath + [0xC0, 0x03])]
    }

    /// The certificate of CDF entry `e`: session, cache, else the card (read up to the end of its DER).
    func certificate(entry e: PKCS15Entry) async throws(CPSError) -> CPSCertificate? {
        if let c = certificatesRead[e.path] { return c }
        let serial = try await readSerial().cardNumber
        if let c = await cache.lookup(serial: serial, path: e.path, id: e.id) {
            certificatesRead[e.path] = c
            return c
        }
        guard let der = try await readFile(e.path, der: true) else { return nil }
        let cert: Certificate
        do { cert = try Certificate(der: Self.trimDER(der)) } catch { throw .certificate(error) }
        let c = CPSCertificate(usage: CPSCertificate.usage(label: e.label, id: e.id), label: e.label, id: e.id, path: e.path, certificate: cert)
        await cache.store(c, serial: serial)
        certificatesRead[e.path] = c
        return c
    }

    /// The DER element at the start of `bytes` (files are often larger than the certificate and padded).
    static func trimDER(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 2, bytes[0] == 0x30 else { return bytes }
        let l = bytes[1]
        var len = 0, header = 2
        if l < 0x80 { len = Int(l) } else {
            let n = Int(l & 0x7F)
            guard n >= 1, n <= 3, bytes.count >= 2 + n else { return bytes }
            for k in 0..<n { len = len << 8 | Int(bytes[2 + k]) }
            header = 2 + n
        }
        return header + len <= bytes.count ? Array(bytes[0..<(header + len)]) : bytes
    }

    // MARK: Private-key operations

    /// Signs `data` (e.g. a DigestInfo, at most 40 % of the modulus) with the authentication key: MSE SET AT
    /// (algorithm `02`, key `82`) then INTERNAL AUTHENTICATE (cps.md §6.3 D). On the contactless interface the
    /// technical key (`83`) is used and no PIN is needed (cps.md §6.3 G, §7).
    /// - Returns: the PKCS#1 v1.5 signature (modulus length, 256 bytes for RSA-2048).
    /// - Throws: `CPSError.refused` (e.g. `69 82` before the PIN), `.card`.
    public func internalAuthenticate(_ data: [UInt8]) async throws(CPSError) -> [UInt8] {
        let key = try await recognise() == .contactless ? CPS.technicalKey : CPS.authenticationKey
        try await selectDF(try await discover().applicationPath)
        let m = try await send(CPS.mseSetAuthentication(key: key))
        guard m.statusWord == .success else { throw .refused(m.statusWord, command: "MSE SET (authentication)") }
        let r = try await send(CPS.internalAuthenticate(data))
        guard r.statusWord == .success, !r.data.isEmpty else { throw .refused(r.statusWord, command: "INTERNAL AUTHENTICATE") }
        return r.data
    }

    /// Signs a SHA-256 digest with the signature key (non-repudiation): MSE SET DST (algorithm `42`, key `81`) then
    /// PSO COMPUTE DIGITAL SIGNATURE (cps.md §6.3 C). Needs the verified PIN; contact only.
    /// - Throws: `CPSError.contactOnly`, `.invalidPINFormat` never; `.refused`, `.card`, `.malformed` for a digest
    ///   that is not 32 bytes.
    public func signDigest(sha256 digest: [UInt8]) async throws(CPSError) -> [UInt8] {
        if try await recognise() == .contactless { throw .contactOnly("a signature") }
        guard digest.count == 32 else { throw .malformed("digest", reason: "\(digest.count) bytes, SHA-256 has 32") }
        try await selectDF(try await discover().applicationPath)
        let m = try await send(CPS.mseSetSignature())
        guard m.statusWord == .success else { throw .refused(m.statusWord, command: "MSE SET (signature)") }
        let r = try await send(CPS.psoComputeSignature(digest: digest))
        guard r.statusWord == .success, !r.data.isEmpty else { throw .refused(r.statusWord, command: "PSO COMPUTE DIGITAL SIGNATURE") }
        return r.data
    }

    // MARK: Everything

    /// Reads what `carte read` shows: interface, serial, EF.ATR, holder, certificates, PIN tries (contact).
    public func read() async throws(CPSError) -> CPSCardSummary {
        let iface = try await recognise()
        let efATR = try await readEFATR()
        let serial = try await readSerial()
        let tries = iface == .contact ? try await pinStatus().triesLeft : nil
        let holder = try await readHolder()
        let certs = try await readCertificates()
        return CPSCardSummary(
            interface: iface, atr: channel.atr, serial: serial, efATR: efATR, holder: holder, certificates: certs,
            pinTriesLeft: tries)
    }
}
