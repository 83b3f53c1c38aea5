import CarteCrypto
import ISO7816

/// A simulated NXP MIFARE DESFire EV1 badge speaking its native commands wrapped in ISO/IEC 7816-4
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.3, §7.4).
///
/// Wire format: C-APDU `90 INS 00 00 [Lc params] [00]` (Le accepted or absent), R-APDU `data ‖ 91 status`.
/// Implemented native commands: GetVersion `60` (three frames: 7 + 7 + 14 bytes, `91 AF` continuations asked with
/// INS `AF`), GetApplicationIDs `6A`, SelectApplication `5A` (3-byte AID, LSB first), AuthenticateAES `AA`
/// (EV1 mutual authentication, §7.4), ReadData `BD` (standard data files; "MACed" files answer `data ‖ CMAC₈`).
///
/// Status bytes: `00` OK, `AF` additional frame, `AE` authentication error, `9D` permission denied (ReadData
/// without the file's read key authenticated), `A0` application not found, `F0` file not found, `7E` length
/// error, `40` no such key, `BE` boundary error (offset/length outside the file), `1C` illegal command (an unknown
/// INS, an `AF` with no pending chain, or **any other command in the middle of a frame chain**: the chain is
/// dropped and `91 1C` answered — our design `[D]`).
///
/// Session rules (DESFire EV1): an error status (anything but `00`/`AF`) and SelectApplication end the
/// authentication; after AuthenticateAES the IV is zero and every command of the session updates it with the
/// IV-chained CMAC (`CMAC.aesChained`) over `INS ‖ params`, then over `answer data ‖ 00`; the card appends the
/// first 8 bytes of that answer CMAC to the answer of plain and MACed commands (split over frames when long).
///
/// ISO-level answers: a CLA other than `90` → `6E 00` (no ISO SELECT of a DESFire AID here); P1/P2 not `00 00` →
/// `6A 86`; an undecodable APDU → `67 00`.
///
/// The PICC level (AID `00 00 00`) has a DES master key: AuthenticateAES there answers `91 AE` (key 0) or `91 40`.
public final class DESFireCard: VirtualCard {
    /// A standard data file (DESFire `CreateStdDataFile`).
    public struct StandardFile: Sendable, Hashable {
        /// DESFire communication settings: plain `00`, MACed `01` (fully enciphered `03` is not simulated).
        public enum Communication: UInt8, Sendable { case plain = 0x00, maced = 0x01 }
        public var content: [UInt8]
        public var communication: Communication
        /// Access rights, each a key number 0…13, `0x0E` free access, `0x0F` never.
        public var readKey: UInt8, writeKey: UInt8, readWriteKey: UInt8, changeKey: UInt8
        public init(
            content: [UInt8], communication: Communication = .maced, readKey: UInt8, writeKey: UInt8 = 0,
            readWriteKey: UInt8 = 0, changeKey: UInt8 = 0
        ) {
            self.content = content
            self.communication = communication
            self.readKey = readKey
            self.writeKey = writeKey
            self.readWriteKey = readWriteKey
            self.changeKey = changeKey
        }
    }

    /// One DESFire application with AES-128 keys.
    public struct Application: Sendable, Hashable {
        /// The 3 AID bytes as they travel in SelectApplication (LSB first), e.g. `F5 43 41`.
        public var aid: [UInt8]
        /// AES-128 keys by key number (index 0 = application master key).
        public var keys: [[UInt8]]
        /// Files by file number.
        public var files: [UInt8: StandardFile]
        public init(aid: [UInt8], keys: [[UInt8]], files: [UInt8: StandardFile]) {
            self.aid = aid
            self.keys = keys
            self.files = files
        }
    }

    /// Why a DESFire persona could not be built from personas.json.
    public enum PersonaError: Error, Sendable, Equatable, CustomStringConvertible {
        case missingField(String)
        case badValue(field: String, value: String)
        case crypto(String)
        public var description: String {
            switch self {
            case .missingField(let f): return "the DESFire persona has no '\(f)'"
            case .badValue(let f, let v): return "the DESFire persona's '\(f)' is not usable: \(v)"
            case .crypto(let why): return "the DESFire persona's key cannot be derived: \(why)"
            }
        }
    }

    public let atr: [UInt8]
    /// The 7-byte UID (ISO/IEC 14443-3 type A, double size), also answered in GetVersion frame 3.
    public let uid: [UInt8]
    public let applications: [Application]
    /// GetVersion frame 1 (hardware) and 2 (software): vendor 04 NXP, type 01, subtype 01, version, storage
    /// size byte, protocol 05. Frame 3: UID(7) ‖ batch(5) ‖ production week (BCD) ‖ production year (BCD).
    public var hardwareVersion: [UInt8] = [0x04, 0x01, 0x01, 0x01, 0x00, 0x18, 0x05]
    public var softwareVersion: [UInt8] = [0x04, 0x01, 0x01, 0x01, 0x04, 0x18, 0x05]
    public var batchNumber: [UInt8] = [0xBA, 0x7C, 0x00, 0x04, 0x17]
    public var productionWeek: UInt8 = 0x12
    public var productionYear: UInt8 = 0x24

    private let random: (Int) -> [UInt8]

    // Volatile state (lost on power-off and reset).
    private var selected: Int?  // index into applications; nil = PICC level
    private var pending: Pending?
    private var session: Session?

    private enum Pending {
        case frames([[UInt8]])  // answer frames still to send, in order
        case authentication(keyNumber: UInt8, key: [UInt8], rndB: [UInt8], iv: [UInt8])
    }

    private struct Session {
        var keyNumber: UInt8
        var key: [UInt8]
        var iv: [UInt8]
    }

    /// Largest data part of one answer frame, in bytes (DESFire frame size 64 minus protocol overhead).
    public static let maxFrameData = 59

    /// - Parameters:
    ///   - uid: 7 bytes; `atr`: the ATR the contactless reader shows (§7.2, e.g. `3B 81 80 01 80 80`).
    ///   - random: source of RndB (16 bytes per authentication); inject a fixed one to replay exact bytes.
    public init(
        uid: [UInt8], atr: [UInt8], applications: [Application],
        random: @escaping (Int) -> [UInt8] = DESFireCard.systemRandom
    ) {
        self.uid = uid
        self.atr = atr
        self.applications = applications
        self.random = random
    }

    /// Random bytes from the system CSPRNG (`SystemRandomNumberGenerator`, getrandom on Linux).
    public static func systemRandom(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// Builds the badge of a personas.json `badges` entry whose `card` is `desfire-ev1`.
    ///
    /// Layout (our design `[D]`, read by `Badges.BadgeSession`): application `application.aid` with AES-128
    /// keys 0…`application.keyNumber` — the reader's key `keyNumber` = AN10922(site master key,
    /// `UID ‖ AID ‖ "CARTE-SITE"`); key 0 (application master key, and any key in between) = AN10922(site master
    /// key, `UID ‖ AID ‖ "CARTE-SITE" ‖ 00`) — and file `application.fileId`: a 64-byte standard data file,
    /// MACed, read key `keyNumber`, write/read-write/change key 0, holding `badgeFileContent(badgeNumber:holder:)`.
    /// - Parameters: `persona` the badge; `siteMasterKey` 16 bytes (`site.desfireMasterKeyAES128`).
    /// - Throws: `PersonaError` naming the missing or unusable field.
    public convenience init(
        persona: BadgePersona, siteMasterKey: [UInt8], random: @escaping (Int) -> [UInt8] = DESFireCard.systemRandom
    ) throws(PersonaError) {
        guard let uid = [UInt8](hex: persona.uid), uid.count == 7 else {
            throw .badValue(field: "uid", value: persona.uid)
        }
        guard let atr = [UInt8](hex: persona.atr), (2...33).contains(atr.count) else {
            throw .badValue(field: "atr", value: persona.atr)
        }
        guard let app = persona.application else { throw .missingField("application") }
        guard let aid = [UInt8](hex: app.aid), aid.count == 3 else { throw .badValue(field: "aid", value: app.aid) }
        guard app.keyType == "AES" else { throw .badValue(field: "keyType", value: app.keyType) }
        guard (1...13).contains(app.keyNumber) else { throw .badValue(field: "keyNumber", value: "\(app.keyNumber)") }
        guard (0...31).contains(app.fileId) else { throw .badValue(field: "fileId", value: "\(app.fileId)") }
        guard siteMasterKey.count == 16 else {
            throw .badValue(field: "desfireMasterKeyAES128", value: "\(siteMasterKey.count) bytes, 16 expected")
        }
        var keys: [[UInt8]] = []
        do {
            let sys = AN10922.carteSystemIdentifier
            let master = try AN10922.diversifyAES128(
                masterKey: siteMasterKey,
                input: AN10922.diversificationInput(uid: uid, aid: aid, systemIdentifier: sys + [0x00]))
            let read = try AN10922.diversifyAES128(masterKey: siteMasterKey, uid: uid, aid: aid, systemIdentifier: sys)
            keys = [UInt8](repeating: 0, count: app.keyNumber).map { _ in master } + [read]
        } catch {
            throw .crypto(error.description)
        }
        guard let body = DESFireCard.badgeFileContent(badgeNumber: app.content.badgeNumber, holder: app.content.holder)
        else { throw .badValue(field: "content", value: "badge number or holder too long for the 64-byte file") }
        let file = StandardFile(content: body, communication: .maced, readKey: UInt8(app.keyNumber))
        self.init(
            uid: uid, atr: atr,
            applications: [Application(aid: aid, keys: keys, files: [UInt8(app.fileId): file])], random: random)
    }

    /// The site master key of the persona file: `site.desfireMasterKeyAES128`, 32 hex digits → 16 bytes.
    public static func siteMasterKey(of file: PersonaFile) -> [UInt8]? {
        let digits = String(decoding: file.site.desfireMasterKeyAES128.asciiBytes, as: UTF8.self)
        guard let key = [UInt8](hex: digits), key.count == 16 else { return nil }
        return key
    }

    /// The profile builder registered for `desfire-ev1` in `CardProfiles.builtIn`: nil for another kind of
    /// persona or an unusable one (the catalogue then falls back to its placeholder card).
    public static func makeCard(persona: AnyPersona, context: CardBuildContext) -> DESFireCard? {
        guard case .badge(let b) = persona, let key = siteMasterKey(of: context.personas) else { return nil }
        return try? DESFireCard(persona: b, siteMasterKey: key)
    }

    /// Builds the badge persona `id` of the bundled personas.json with the site master key of the same file.
    /// - Throws: `PersonaError.missingField` when the persona, or the site key, is absent; as
    ///   `init(persona:siteMasterKey:random:)` otherwise.
    public static func bundledPersona(
        _ id: String, random: @escaping (Int) -> [UInt8] = DESFireCard.systemRandom
    ) throws(PersonaError) -> DESFireCard {
        guard let file = try? PersonaCatalog.personas(), let badge = file.badges.first(where: { $0.id == id }) else {
            throw .missingField("badges[\(id)]")
        }
        guard let key = siteMasterKey(of: file) else { throw .missingField("site.desfireMasterKeyAES128") }
        return try DESFireCard(persona: badge, siteMasterKey: key, random: random)
    }

    /// Size of the badge file, in bytes.
    public static let badgeFileSize = 64

    /// The badge file's content (our design `[D]`): byte 0 = layout version `01`, then TLVs with 1-byte tag and
    /// 1-byte length — `01` badge number (UTF-8), `02` holder persona identifier (UTF-8) — then `00` padding up to
    /// 64 bytes. Returns nil when both do not fit.
    public static func badgeFileContent(badgeNumber: String, holder: String) -> [UInt8]? {
        let n = Array(badgeNumber.utf8)
        let h = Array(holder.utf8)
        guard n.count <= 255, h.count <= 255 else { return nil }
        var out: [UInt8] = [0x01, 0x01, UInt8(n.count)] + n + [0x02, UInt8(h.count)] + h
        guard out.count <= badgeFileSize else { return nil }
        out += [UInt8](repeating: 0, count: badgeFileSize - out.count)
        return out
    }

    // MARK: VirtualCard

    public func powerOn() { clearVolatileState() }
    public func powerOff() { clearVolatileState() }
    public func reset() { clearVolatileState() }

    private func clearVolatileState() {
        selected = nil
        pending = nil
        session = nil
    }

    public func process(_ command: [UInt8]) -> [UInt8] {
        guard let apdu = try? CommandAPDU(decoding: command) else { return [0x67, 0x00] }
        guard apdu.cla == 0x90 else { return [0x6E, 0x00] }
        guard apdu.p1 == 0x00, apdu.p2 == 0x00 else { return [0x6A, 0x86] }
        let ins = apdu.ins
        let params = apdu.data

        if let p = pending {
            pending = nil
            guard ins == 0xAF else { return fail(0x1C) }
            switch p {
            case .frames(let frames):
                guard params.isEmpty else { return fail(0x7E) }
                return send(frames)
            case .authentication(let keyNumber, let key, let rndB, let iv):
                return finishAuthentication(keyNumber: keyNumber, key: key, rndB: rndB, iv: iv, token: params)
            }
        }

        switch ins {
        case 0x60: return getVersion(params)
        case 0x6A: return getApplicationIDs(params)
        case 0x5A: return selectApplication(params)
        case 0xAA: return authenticateAES(params)
        case 0xBD: return readData(params)
        default: return fail(0x1C)  // includes AF with no pending chain
        }
    }

    // MARK: Native commands

    private func getVersion(_ params: [UInt8]) -> [UInt8] {
        guard params.isEmpty else { return fail(0x7E) }
        guard macCommand(0x60, params) != nil else { return fail(0x1E) }
        let frame3 = uid + batchNumber + [productionWeek, productionYear]
        guard let mac = macAnswer(hardwareVersion + softwareVersion + frame3) else { return fail(0x1E) }
        return send([hardwareVersion, softwareVersion, frame3 + mac])
    }

    private func getApplicationIDs(_ params: [UInt8]) -> [UInt8] {
        guard params.isEmpty else { return fail(0x7E) }
        guard macCommand(0x6A, params) != nil else { return fail(0x1E) }
        let ids = applications.flatMap(\.aid)
        guard let mac = macAnswer(ids) else { return fail(0x1E) }
        return send(chunks(ids + mac))
    }

    private func selectApplication(_ params: [UInt8]) -> [UInt8] {
        guard params.count == 3 else { return fail(0x7E) }
        session = nil
        if params == [0, 0, 0] {
            selected = nil
            return [0x91, 0x00]
        }
        guard let index = applications.firstIndex(where: { $0.aid == params }) else { return fail(0xA0) }
        selected = index
        return [0x91, 0x00]
    }

    private func authenticateAES(_ params: [UInt8]) -> [UInt8] {
        guard params.count == 1 else { return fail(0x7E) }
        session = nil
        let keyNumber = params[0]
        guard let index = selected else {
            return fail(keyNumber == 0 ? 0xAE : 0x40)  // PICC master key is a DES key
        }
        let keys = applications[index].keys
        guard Int(keyNumber) < keys.count else { return fail(0x40) }
        let key = keys[Int(keyNumber)]
        let rndB = random(16)
        guard rndB.count == 16,
            let encB = try? AES.encrypt(rndB, key: key, mode: .cbc(iv: [UInt8](repeating: 0, count: 16)))
        else { return fail(0xAE) }
        pending = .authentication(keyNumber: keyNumber, key: key, rndB: rndB, iv: encB)
        return encB + [0x91, 0xAF]
    }

    private func finishAuthentication(
        keyNumber: UInt8, key: [UInt8], rndB: [UInt8], iv: [UInt8], token: [UInt8]
    ) -> [UInt8] {
        guard token.count == 32 else { return fail(0x7E) }
        guard let plain = try? AES.decrypt(token, key: key, mode: .cbc(iv: iv)) else { return fail(0xAE) }
        let rndA = Array(plain[0..<16])
        let rndBRotated = Array(plain[16..<32])
        guard rndBRotated == Array(rndB[1...]) + [rndB[0]] else { return fail(0xAE) }
        let rndARotated = Array(rndA[1...]) + [rndA[0]]
        guard let encA = try? AES.encrypt(rndARotated, key: key, mode: .cbc(iv: Array(token[16..<32]))) else {
            return fail(0xAE)
        }
        let sessionKey = Array(rndA[0..<4]) + Array(rndB[0..<4]) + Array(rndA[12..<16]) + Array(rndB[12..<16])
        session = Session(keyNumber: keyNumber, key: sessionKey, iv: [UInt8](repeating: 0, count: 16))
        return encA + [0x91, 0x00]
    }

    private func readData(_ params: [UInt8]) -> [UInt8] {
        guard params.count == 7 else { return fail(0x7E) }
        guard let index = selected else { return fail(0xF0) }
        let fileNumber = params[0]
        guard let file = applications[index].files[fileNumber] else { return fail(0xF0) }
        let offset = Int(params[1]) | Int(params[2]) << 8 | Int(params[3]) << 16
        let length = Int(params[4]) | Int(params[5]) << 8 | Int(params[6]) << 16
        let allowed: Set<UInt8> = [file.readKey, file.readWriteKey]
        let free = allowed.contains(0x0E)
        if !free {
            guard let s = session, allowed.contains(s.keyNumber) else { return fail(0x9D) }
        }
        let size = file.content.count
        guard offset < size || (offset == 0 && size == 0) else { return fail(0xBE) }
        let count = length == 0 ? size - offset : length
        guard offset + count <= size else { return fail(0xBE) }
        let data = Array(file.content[offset..<(offset + count)])
        guard macCommand(0xBD, params) != nil else { return fail(0x1E) }
        guard let mac = macAnswer(data) else { return fail(0x1E) }
        // A plain file in an authenticated session still carries the CMAC in EV1 (the answer is MACed anyway).
        return send(chunks(data + mac))
    }

    // MARK: Helpers

    /// Updates the session IV with the CMAC of `INS ‖ params`; returns `[]` when no session, nil on crypto failure.
    private func macCommand(_ ins: UInt8, _ params: [UInt8]) -> [UInt8]? {
        guard var s = session else { return [] }
        guard let mac = try? CMAC.aesChained(key: s.key, iv: s.iv, data: [ins] + params) else { return nil }
        s.iv = mac
        session = s
        return []
    }

    /// Computes the answer CMAC over `data ‖ 00`, updates the IV; returns its first 8 bytes (`[]` without a
    /// session), nil on crypto failure.
    private func macAnswer(_ data: [UInt8]) -> [UInt8]? {
        guard var s = session else { return [] }
        guard let mac = try? CMAC.aesChained(key: s.key, iv: s.iv, data: data + [0x00]) else { return nil }
        s.iv = mac
        session = s
        return Array(mac[0..<8])
    }

    private func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        if bytes.isEmpty { return [[]] }
        return stride(from: 0, to: bytes.count, by: Self.maxFrameData).map {
            Array(bytes[$0..<min($0 + Self.maxFrameData, bytes.count)])
        }
    }

    /// Answers the first frame; queues the rest behind `91 AF`.
    private func send(_ frames: [[UInt8]]) -> [UInt8] {
        guard let first = frames.first else { return [0x91, 0x00] }
        let rest = Array(frames.dropFirst())
        if rest.isEmpty { return first + [0x91, 0x00] }
        pending = .frames(rest)
        return first + [0x91, 0xAF]
    }

    /// An error status: the authentication ends (DESFire EV1) and any chain is dropped.
    private func fail(_ status: UInt8) -> [UInt8] {
        session = nil
        pending = nil
        return [0x91, status]
    }
}

extension DESFireCard: ContactlessCapableCard {
    /// The UID answered by the contactless reader to `FF CA 00 00 00`, and the ATS historical bytes it puts in
    /// its PC/SC part 3 ATR (those of the persona's ATR, e.g. `80` → `3B 81 80 01 80 80`).
    public var contactless: ContactlessInterface? {
        ContactlessInterface(uid: uid, historicalBytes: ATRInfo(atr)?.historicalBytes ?? [])
    }
    /// A badge has no contact plate.
    public var hasContactInterface: Bool { false }
}

