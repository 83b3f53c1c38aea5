import ISO7816

/// Reads a carte Vitale (1 or 2) through the ISO 7816 pipeline (`APDUChannel`: T=0 `61 xx` / `6C xx` rules, chunked
/// READ BINARY) into a `VitaleCard`.
///
/// Vitale 2 strategy (`../shared/specs/vitale.md` §5.1, §5.2): SELECT VITALE by AID, read EF POINTERS (SFI 1, else
/// SELECT `2001`), and read every file it announces by SFI (derived from the FID, as RufusAdmin reads SFI 2), falling
/// back to SELECT by FID then READ BINARY (cardpeek); our `[D]` identifiers of §9.2 are used only when POINTERS does
/// not announce a file. No file is read twice. Vitale 1 (§4.2, §9.3): class `BC`, ADMAX from `BC C0`, the zone
/// pointers of the production area, then each zone.
///
/// Everything happens inside one transaction (PC/SC `SCardBeginTransaction`).
public actor VitaleSession {
    /// The transport the session reads through.
    public nonisolated let transport: any CardTransport
    private var channel: APDUChannel?

    /// A session on `transport`; it connects (T=0 or T=1) on the first read.
    public init(transport: any CardTransport) {
        self.transport = transport
    }

    /// A session on an already connected channel.
    public init(channel: APDUChannel) {
        self.transport = channel.transport
        self.channel = channel
    }

    /// Reads the whole card.
    /// - Parameter careDate: the day the rights are checked against (`VitaleBeneficiary.rightsOpen(at:)`).
    /// - Returns: the card, with each beneficiary's INS-C (or why there is none) and the data refused with `69 82`
    ///   listed in `protectedData` ("needs a CPS session").
    /// - Throws: `VitaleError`: `.cardRemoved` when the card leaves the reader mid-read, `.notAVitaleCard` for any
    ///   other card, `.corruptedData` for a file that does not decode, `.unexpectedStatus`, `.cardBlocked`,
    ///   `.transport`.
    public func readCard(careDate: VitaleDay) async throws(VitaleError) -> VitaleCard {
        let ch = try await connectedChannel()
        do { try await transport.beginTransaction() } catch { throw VitaleError.from(error) }
        do {
            let card = try await read(ch, careDate: careDate)
            await transport.endTransaction()
            return card
        } catch {
            await transport.endTransaction()
            throw error
        }
    }

    private func connectedChannel() async throws(VitaleError) -> APDUChannel {
        if let channel { return channel }
        do {
            let ch = try await APDUChannel.connect(transport, preferred: [.t0, .t1])
            channel = ch
            return ch
        } catch {
            throw Self.map(error)
        }
    }

    private func read(_ ch: APDUChannel, careDate: VitaleDay) async throws(VitaleError) -> VitaleCard {
        let atr = ch.atr
        let card: VitaleCard
        switch KnownCard.kind(of: atr) {
        case .vitale1:
            card = try await Vitale1Reader(channel: ch).read(atr: atr, careDate: careDate)
        case .vitale2:
            card = try await Vitale2Reader(channel: ch).read(atr: atr, careDate: careDate, probing: false)
        case .unknown:
            // The ATR is not decisive: a probing SELECT VITALE (§5.4 step 3)
            card = try await Vitale2Reader(channel: ch).read(atr: atr, careDate: careDate, probing: true)
        default:
            throw .notAVitaleCard(atr: atr)
        }
        return VitaleINSC.applied(to: card)
    }

    /// How many times a command is re-sent after a transient failure that happened before the card processed it
    /// (`TransportError.failed`, `.timeout`, `.cardMute`): RufusAdmin retries up to 4 times because some
    /// keyboard-integrated readers "hiccup" (vitale.md §3). A removed card or a gone reader is never retried.
    static let transientRetries = 3

    /// Runs `body`, re-running it up to `transientRetries` times on a transient transport failure.
    static func retrying<T>(_ body: () async throws(CardError) -> T) async throws(CardError) -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch {
                guard case .transport(let t) = error, attempt < transientRetries else { throw error }
                switch t {
                case .failed, .timeout, .cardMute: attempt += 1
                default: throw error
                }
            }
        }
    }

    static func map(_ e: CardError) -> VitaleError {
        switch e {
        case .transport(let t): return VitaleError.from(t)
        case .unexpectedStatus(let sw, let command): return .unexpectedStatus(step: command, status: sw)
        default: return .cardProtocol(e.description)
        }
    }
}

// MARK: - Vitale 2

/// The Vitale 2 file roles the reader needs, with their POINTERS labels and `[D]` fallbacks (§9.2).
enum Vitale2FileRole: CaseIterable {
    case benef, carte, amo, amc, ident

    var label: String {
        switch self {
        case .ident: return "IDENT"
        case .benef: return "BENEF"
        case .carte: return "CARTE"
        case .amo: return "AMO"
        case .amc: return "AMC"
        }
    }

    /// What the data are called in messages.
    var what: String {
        switch self {
        case .ident: return "identity"
        case .benef: return "beneficiary"
        case .carte: return "card"
        case .amo: return "AMO rights"
        case .amc: return "AMC"
        }
    }

    /// Tags a file of this role may start with (its first template).
    var expectedTags: Set<UInt8> {
        switch self {
        case .ident, .benef: return [0x65]
        case .carte: return [0x66]
        case .amo: return [0x67, 0x68]
        case .amc: return [0x69]
        }
    }

    var fallbackFID: UInt16 {
        switch self {
        case .ident: return Vitale2Identifiers.Fallback.identFID
        case .benef: return Vitale2Identifiers.Fallback.benefFID
        case .carte: return Vitale2Identifiers.Fallback.carteFID
        case .amo: return Vitale2Identifiers.Fallback.amoFID
        case .amc: return Vitale2Identifiers.Fallback.amcFID
        }
    }

    var fallbackAID: [UInt8] { self == .ident ? Vitale2Identifiers.mfVitaleAID : Vitale2Identifiers.vitaleAID }
}

/// Where one file is: its application and FID.
struct Vitale2FileLocation: Hashable {
    /// `nil` for an announced file whose label is unknown: recognised by its content once read.
    var role: Vitale2FileRole?
    var aid: [UInt8]
    var fid: UInt16
    /// True when POINTERS announced it, false for a `[D]` fallback.
    var announced: Bool
}

enum Vitale2FileOutcome {
    case content([UInt8])
    case notFound
    case protected
}

struct Vitale2Reader {
    let channel: APDUChannel

    /// SELECT by DF name, `00 A4 04 00 Lc AID` without Le (RufusAdmin's form; the FCI is not needed, so a `61 xx`
    /// is taken as success without GET RESPONSE).
    func selectApplication(_ aid: [UInt8]) async throws(VitaleError) -> StatusWord {
        try await send(CommandAPDU(ins: 0xA4, p1: 0x04, p2: 0x00, data: aid), noGetResponse: true).statusWord
    }

    /// SELECT an EF under the current DF by FID, `00 A4 02 00 02 FID` (cardpeek's form).
    func selectEF(_ fid: UInt16) async throws(VitaleError) -> StatusWord {
        try await send(
            CommandAPDU(ins: 0xA4, p1: 0x02, p2: 0x00, data: [UInt8(fid >> 8), UInt8(fid & 0xFF)]), noGetResponse: true
        ).statusWord
    }

    /// SELECT MF by FID, `00 A4 00 00 02 3F 00` (RufusAdmin's form).
    func selectMF() async throws(VitaleError) -> StatusWord {
        try await send(CommandAPDU(ins: 0xA4, p1: 0x00, p2: 0x00, data: [0x3F, 0x00]), noGetResponse: true).statusWord
    }

    func send(_ c: CommandAPDU, noGetResponse: Bool) async throws(VitaleError) -> ResponseAPDU {
        do {
            let options = SendOptions(autoGetResponse: !noGetResponse, autoCorrectLe: true)
            return try await VitaleSession.retrying { () async throws(CardError) in try await channel.send(c, options: options) }
        } catch { throw VitaleSession.map(error) }
    }

    static func selected(_ sw: StatusWord) -> Bool { sw == .success || sw.sw1 == 0x61 }

    /// The SFI RufusAdmin-style readers use for a file: the FID's low byte when it is 1…30.
    static func sfi(for fid: UInt16) -> UInt8? {
        let low = UInt8(fid & 0xFF)
        return (1...30).contains(low) ? low : nil
    }

    /// True when `bytes` look like a file of this role (first non-padding byte is an expected tag), or are empty.
    static func plausible(_ bytes: [UInt8], tags: Set<UInt8>) -> Bool {
        guard let first = bytes.first(where: { $0 != 0x00 && $0 != 0xFF }) else { return true }
        return tags.contains(first)
    }

    /// Reads the current application's EF `fid`: by SFI first, then SELECT + READ BINARY.
    /// `expectedTags` `nil` accepts any content (a file recognised later by content).
    func readEF(fid: UInt16, expectedTags: Set<UInt8>?) async throws(VitaleError) -> Vitale2FileOutcome {
        if let sfi = Self.sfi(for: fid) {
            switch try await readBinary(sfi: sfi) {
            case .content(let b) where expectedTags.map({ Self.plausible(b, tags: $0) }) ?? true: return .content(b)
            case .protected: return .protected
            case .content, .notFound: break  // another file holds this SFI, or none: select by FID
            }
        }
        let sw = try await selectEF(fid)
        if sw.meaning == .securityStatusNotSatisfied { return .protected }
        guard Self.selected(sw) else {
            if sw.meaning == .fileOrApplicationNotFound { return .notFound }
            throw .unexpectedStatus(step: "SELECT EF \(String(fid, radix: 16, uppercase: true))", status: sw)
        }
        return try await readBinary(sfi: nil)
    }

    /// READ BINARY of a whole EF (chunked by the channel: short answer, `62 82` or `6B 00` ends it).
    func readBinary(sfi: UInt8?) async throws(VitaleError) -> Vitale2FileOutcome {
        do {
            return .content(
                try await VitaleSession.retrying { () async throws(CardError) in try await channel.readBinary(sfi: sfi) })
        } catch {
            switch error {
            case .unexpectedStatus(let sw, let command):
                switch sw.value {
                case 0x6982: return .protected
                case 0x6283, 0x6985: throw .cardBlocked(status: sw)
                case 0x6B00: return .content([])  // offset 0 beyond the end: an empty file
                case 0x6A82, 0x6A86, 0x6981, 0x6986, 0x6A81, 0x6A88:
                    // SFI unknown or not an SFI card: the caller falls back to SELECT by FID
                    if sfi != nil { return .notFound }
                    throw .unexpectedStatus(step: command, status: sw)
                default: throw .unexpectedStatus(step: command, status: sw)
                }
            case .emptyRead: return .content([])
            default: throw VitaleSession.map(error)
            }
        }
    }

    func read(atr: [UInt8], careDate: VitaleDay, probing: Bool) async throws(VitaleError) -> VitaleCard {
        // 1. SELECT VITALE
        let sw = try await selectApplication(Vitale2Identifiers.vitaleAID)
        guard Self.selected(sw) else {
            if sw.value == 0x6283 || sw.value == 0x6985 { throw .cardBlocked(status: sw) }
            switch sw.meaning {
            case .fileOrApplicationNotFound, .instructionNotSupported, .classNotSupported, .incorrectP1P2,
                .functionNotSupported:
                throw .notAVitaleCard(atr: atr)
            default:
                if probing { throw .notAVitaleCard(atr: atr) }
                throw .unexpectedStatus(step: "SELECT VITALE", status: sw)
            }
        }

        // 2. POINTERS
        var pointers: Vitale2Pointers? = nil
        var protected: [VitaleProtectedData] = []  // data answered 69 82
        switch try await readEF(fid: Vitale2Identifiers.pointersFID, expectedTags: [0xE0]) {
        case .content(let b): pointers = try? Vitale2Pointers(decoding: b)
        case .protected: protected.append(VitaleProtectedData(what: "POINTERS", fileID: Vitale2Identifiers.pointersFID))
        case .notFound: break
        }

        // 3. Where the files are: POINTERS (by label), then by content, then our [D] identifiers
        var located: [Vitale2FileRole: Vitale2FileLocation] = [:]
        var unlabelled: [Vitale2FileLocation] = []
        if let p = pointers {
            for f in p.files where f.fid != Vitale2Identifiers.pointersFID {
                let aid = p.aid(ofApplication: f.applicationEntryID)
                    ?? (f.applicationEntryID == 1 ? Vitale2Identifiers.mfVitaleAID : Vitale2Identifiers.vitaleAID)
                let label = f.label.uppercased()
                if let role = Vitale2FileRole.allCases.first(where: { $0.label == label }), located[role] == nil {
                    located[role] = Vitale2FileLocation(role: role, aid: aid, fid: f.fid, announced: true)
                } else if !Self.notNeededLabels.contains(label) {
                    unlabelled.append(Vitale2FileLocation(role: nil, aid: aid, fid: f.fid, announced: true))
                }
            }
        }
        var state = ReadState()
        state.protected = protected
        // Pass 1: the labelled files; when a role has no label, the other announced files too, recognised by content
        // (cardpeek reads every announced file and parses it by tag, vitale.md §5.1).
        var pass1 = Vitale2FileRole.allCases.compactMap { located[$0] }
        if located.count < Vitale2FileRole.allCases.count { pass1 += unlabelled }
        try await readAll(pass1, &state)
        // Pass 2: our [D] identifiers (vitale.md §9.2) for what is still missing
        var pass2: [Vitale2FileLocation] = []
        for role in Vitale2FileRole.allCases where located[role] == nil && !state.done.contains(role) {
            let alreadyRead = pass1.contains { $0.aid == role.fallbackAID && $0.fid == role.fallbackFID }
            if !alreadyRead {
                pass2.append(Vitale2FileLocation(role: role, aid: role.fallbackAID, fid: role.fallbackFID, announced: false))
            }
        }
        try await readAll(pass2, &state)
        let files = state.files
        protected = state.protected
        return try Vitale2Decoder.decode(files, atr: atr, careDate: careDate, protectedData: protected)
    }

    /// POINTERS labels of files the read does not need ([D] labels; unknown labels are read and recognised).
    static let notNeededLabels: Set<String> = ["CERT", "PHOTO", "DIR", "PAN"]

    struct ReadState {
        var files = Vitale2Files()
        var done: Set<Vitale2FileRole> = []
        var protected: [VitaleProtectedData] = []
        var current: [UInt8] = Vitale2Identifiers.vitaleAID
    }

    /// Reads `locations`, the current application's first, then each other application once.
    func readAll(_ locations: [Vitale2FileLocation], _ state: inout ReadState) async throws(VitaleError) {
        var order: [[UInt8]] = [state.current]
        for l in locations where !order.contains(l.aid) { order.append(l.aid) }
        for aid in order {
            let here = locations.filter { $0.aid == aid }
            guard !here.isEmpty else { continue }
            if aid != state.current {
                var sw = try await selectApplication(aid)
                if !Self.selected(sw) && aid == Vitale2Identifiers.mfVitaleAID { sw = try await selectMF() }
                guard Self.selected(sw) else {
                    if sw.meaning == .fileOrApplicationNotFound { continue }
                    throw .unexpectedStatus(step: "SELECT application \(aid.hexString())", status: sw)
                }
                state.current = aid
            }
            for l in here {
                if let r = l.role, state.done.contains(r) { continue }
                switch try await readEF(fid: l.fid, expectedTags: l.role?.expectedTags) {
                case .content(let b):
                    guard let role = l.role ?? Self.classify(b), !state.done.contains(role) else { continue }
                    state.done.insert(role)
                    switch role {
                    case .ident: state.files.ident = b
                    case .benef: state.files.benef = b
                    case .carte: state.files.carte = b
                    case .amo: state.files.amo = b
                    case .amc: state.files.amc = b
                    }
                case .protected:
                    if let r = l.role { state.done.insert(r) }
                    state.protected.append(VitaleProtectedData(
                            what: l.role?.what ?? "file \(String(l.fid, radix: 16, uppercase: true))", fileID: l.fid))
                case .notFound: continue
                }
            }
        }
    }

    /// Recognises a file by its first template (§6.1 [C], §9.2 [D]): `65` with `93` → BENEF, `65` with `80` →
    /// IDENT, `66` → CARTE, `67`/`68` → AMO, `69` → AMC.
    static func classify(_ bytes: [UInt8]) -> Vitale2FileRole? {
        guard let first = BERTLV.decodeLenient(bytes).objects.first else { return nil }
        switch first.tag {
        case 0x65:
            if first.children.contains(where: { $0.tag == 0x93 }) { return .benef }
            if first.children.contains(where: { $0.tag == 0x80 }) { return .ident }
            return nil
        case 0x66: return .carte
        case 0x67, 0x68: return .amo
        case 0x69: return .amc
        default: return nil
        }
    }
}

// MARK: - Vitale 1

struct Vitale1Reader {
    let channel: APDUChannel

    func send(_ c: CommandAPDU, step: String) async throws(VitaleError) -> [UInt8] {
        let r: ResponseAPDU
        do {
            r = try await VitaleSession.retrying { () async throws(CardError) in try await channel.send(c) }
        } catch { throw VitaleSession.map(error) }
        switch r.statusWord.value {
        case 0x9000: return r.data
        case 0x6283, 0x6985: throw .cardBlocked(status: r.statusWord)
        case 0x6E00, 0x6D00: throw .notAVitaleCard(atr: channel.atr)
        default: throw .unexpectedStatus(step: step, status: r.statusWord)
        }
    }

    /// `BC B0 AH AL Le` for `words` words from nibble address `address`, in frames of at most 63 words.
    func readWords(from address: Int, count words: Int) async throws(VitaleError) -> [UInt8] {
        var out: [UInt8] = []
        var a = address
        var left = words
        while left > 0 {
            let n = min(left, Vitale1Memory.maxReadBytes / 4)
            out += try await send(
                CommandAPDU(cla: Vitale1Memory.cla, ins: 0xB0, p1: UInt8(a >> 8), p2: UInt8(a & 0xFF), ne: n * 4),
                step: "the memory read at \(String(a, radix: 16, uppercase: true))h")
            a += n * Vitale1Memory.nibblesPerWord
            left -= n
        }
        return out
    }

    func read(atr: [UInt8], careDate: VitaleDay) async throws(VitaleError) -> VitaleCard {
        let info = try await send(CommandAPDU(cla: Vitale1Memory.cla, ins: 0xC0, p1: 0, p2: 0, ne: 8), step: "the card information (BC C0)")
        guard info.count >= 2 else { throw .corruptedData(file: "card information", detail: "\(info.count) bytes instead of 8") }
        let admax = Int(info[0]) << 8 | Int(info[1])
        let prodEnd = min(Vitale1Memory.productionAreaLast + Vitale1Memory.nibblesPerWord, admax)
        guard prodEnd > Vitale1Memory.productionAreaStart else {
            throw .corruptedData(file: "card information", detail: "ADMAX \(String(admax, radix: 16))h ends before the production area")
        }
        let prod = try await readWords(
            from: Vitale1Memory.productionAreaStart,
            count: (prodEnd - Vitale1Memory.productionAreaStart) / Vitale1Memory.nibblesPerWord)
        let p = try Vitale1Memory.pointers(fromProductionArea: prod)
        let starts = [p.assure, p.beneficiaires, p.droits, p.historique].compactMap { $0 }
        func end(of a: Int) -> Int {
            starts.filter { $0 > a }.min() ?? min(Vitale1Memory.productionAreaStart, admax)
        }
        func zone(_ a: Int, _ name: String) async throws(VitaleError) -> [UInt8] {
            let e = end(of: a)
            guard e > a else { throw .corruptedData(file: "production area", detail: "the \(name) zone is empty") }
            return Vitale1Memory.nibbles(fromWords: try await readWords(from: a, count: (e - a) / Vitale1Memory.nibblesPerWord))
        }
        let assure = try Vitale1Memory.decodeAssure(try await zone(p.assure, "ASSURÉ"))
        let benefs = try Vitale1Memory.decodeBeneficiaires(try await zone(p.beneficiaires, "BÉNÉFICIAIRES"))
        var rights: [[VitaleRightsPeriod]] = []
        if let d = p.droits { rights = try Vitale1Memory.decodeDroits(try await zone(d, "DROITS"), beneficiaryCount: benefs.count) }
        guard !benefs.isEmpty else { throw .missingData("any beneficiary identity") }
        var out: [VitaleBeneficiary] = []
        for (i, b) in benefs.enumerated() {
            guard let date = VitaleCardDate(b.date) else { throw .corruptedData(file: "BÉNÉFICIAIRES", detail: "birth date") }
            out.append(
                VitaleBeneficiary(
                    index: i, nomUsuel: b.nom, nomPatronymique: nil, prenom: b.prenom, dateNaissance: date, rang: b.rang,
                    qualite: b.qualite, nir: assure.insured.nir, nirCertifie: nil,
                    rights: i < rights.count ? rights[i] : []))
        }
        return VitaleCard(
            kind: .vitale1, atr: atr, serial: assure.serial, cardType: assure.cardType, validityStart: nil,
            insured: assure.insured, beneficiaries: out, careDate: careDate)
    }
}
