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

    /// The SFI of the known layout: 2 for IDENT (under the MF) and BENEF (under VITALE), [R] RufusAdmin
    /// (vitale.md §5.2); 3, 4, 5 for CARTE, AMO, AMC, our [D] design (§9.2).
    var knownSFI: UInt8 { UInt8(fallbackFID & 0xFF) }

    var fallbackAID: [UInt8] { self == .ident ? Vitale2Identifiers.mfVitaleAID : Vitale2Identifiers.vitaleAID }

    /// How the file is read, knowing (or not) how many beneficiaries the card holds.
    func plan(beneficiaries n: Int?) -> Vitale2ReadPlan {
        switch self {
        case .ident: return .ident(expected: n)
        case .benef: return .benef(expected: n)
        case .carte: return .carte
        case .amo: return .amo(beneficiaries: n)
        case .amc: return .amc
        }
    }
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

/// Reads a Vitale 2 card (vitale.md §5, §9.2), every data file once and only as far as its data go:
///
/// 1. Known Vitale 2 ATR: READ BINARY SFI 2 of the current DF, the MF after the reset (ISO/IEC 7816-4 §7.2.1,
///    [I]): IDENT ([R] RufusAdmin reads it after SELECT MF). When a previous session left VITALE selected, the same
///    command returns BENEF, recognised by its `93`, and kept as BENEF.
/// 2. SELECT VITALE by AID with P2 = `0C` (no FCI to move; P2 = `00` again when the card refuses `0C`). For an
///    unknown ATR this is the first command, the probe of §5.4.
/// 3. BENEF, CARTE, AMO, AMC by their SFIs 2, 3, 4, 5 ([R]/[D] known layout), each read as
///    `Vitale2ReadPlan` sizes it: a first chunk, then exactly what the template lengths announce plus an estimate
///    of what is left, until the `00` padding or the end of the file (`Vitale2TemplateScan`).
/// 4. IDENT when step 1 did not give it: SELECT MF (`00 A4 00 0C 02 3F 00`), SFI 2.
/// 5. Only when a file is not where the known layout puts it: EF POINTERS (SFI 1, else SELECT `2001`) and the
///    files it announces (cardpeek's discovery, §5.1), by SFI derived from the FID, else SELECT by FID; then our
///    `[D]` FIDs for what is still missing.
struct Vitale2Reader {
    let channel: APDUChannel

    /// SELECT with P2 = `0C`, no response data (ISO/IEC 7816-4 §11.1.1: the FCI is not needed, so it is not moved);
    /// sent again with P2 = `00` (cardpeek's and RufusAdmin's form) when the card refuses `0C` with `6A 86` /
    /// `6A 81`. Without Le: a `61 xx` answer is success and no GET RESPONSE follows.
    func select(p1: UInt8, _ data: [UInt8]) async throws(VitaleError) -> StatusWord {
        let sw = try await send(CommandAPDU(ins: 0xA4, p1: p1, p2: 0x0C, data: data), noGetResponse: true).statusWord
        guard sw.value == 0x6A86 || sw.value == 0x6A81 else { return sw }
        return try await send(CommandAPDU(ins: 0xA4, p1: p1, p2: 0x00, data: data), noGetResponse: true).statusWord
    }

    /// SELECT by DF name, `00 A4 04 0C Lc AID`.
    func selectApplication(_ aid: [UInt8]) async throws(VitaleError) -> StatusWord { try await select(p1: 0x04, aid) }

    /// SELECT an EF under the current DF by FID, `00 A4 02 0C 02 FID`.
    func selectEF(_ fid: UInt16) async throws(VitaleError) -> StatusWord {
        try await select(p1: 0x02, [UInt8(fid >> 8), UInt8(fid & 0xFF)])
    }

    /// SELECT MF by FID, `00 A4 00 0C 02 3F 00` (RufusAdmin's first command, without FCI).
    func selectMF() async throws(VitaleError) -> StatusWord { try await select(p1: 0x00, [0x3F, 0x00]) }

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

    /// What one READ BINARY gave.
    enum Chunk {
        case data([UInt8])
        /// `6B 00` or `90 00` without data: nothing at this offset.
        case endOfFile
        case protected
        /// No EF with this SFI in the current DF (only for a read by SFI).
        case notFound
    }

    /// One READ BINARY of at most `maxReadChunk` bytes (one command, re-sent as a whole on a transient failure).
    func readChunk(sfi: UInt8?, offset: Int, length: Int) async throws(VitaleError) -> Chunk {
        do {
            return .data(
                try await VitaleSession.retrying { () async throws(CardError) in
                    try await channel.readBinary(sfi: sfi, offset: offset, length: length)
                })
        } catch {
            switch error {
            case .unexpectedStatus(let sw, let command):
                switch sw.value {
                case 0x6982: return .protected
                case 0x6283, 0x6985: throw .cardBlocked(status: sw)
                case 0x6B00: return .endOfFile
                case 0x6A82, 0x6A86, 0x6981, 0x6986, 0x6A81, 0x6A88:
                    // SFI unknown or not an SFI card: the caller looks elsewhere
                    if sfi != nil { return .notFound }
                    throw .unexpectedStatus(step: command, status: sw)
                default: throw .unexpectedStatus(step: command, status: sw)
                }
            case .emptyRead: return .endOfFile
            default: throw VitaleSession.map(error)
            }
        }
    }

    /// Reads a file of templates (vitale.md §9.2) by SFI, or the current EF when `sfi` is `nil`, as `plan` sizes the
    /// chunks, and stops at the end of the data: the padding is not read beyond its first byte, and no byte is read
    /// twice.
    /// - Returns: the templates without the padding, or `.protected` / `.notFound` from the first READ BINARY.
    /// - Throws: `VitaleError.corruptedData(file:detail:)` when a template's length runs past the end of the file
    ///   (nothing is read past that end), `.unexpectedStatus`, `.cardBlocked`, transport errors.
    ///
    /// `tentativeTags`: the read is a guess (a known-layout SFI, vitale.md §9.2 [D]; the real card's SFIs are [U]):
    /// when the first chunk's first template tag is not one of these, another file answers at this SFI — reading
    /// stops there and the outcome is `.notFound`, so the caller looks elsewhere (POINTERS, SELECT by FID) instead of
    /// reading a whole foreign file or failing on it. A file whose tag matches and whose content is damaged is still
    /// `corruptedData`.
    func readTemplateFile(sfi: UInt8?, plan: Vitale2ReadPlan, file: String, tentativeTags: Set<UInt8>? = nil)
        async throws(VitaleError) -> Vitale2FileOutcome
    {
        var bytes: [UInt8] = []
        var ended = false
        var want = max(1, plan.firstChunk)
        var first = true
        while true {
            let ask = min(want, channel.maxReadChunk, Vitale2TemplateScan.maximumFileSize - bytes.count)
            if ask <= 0 {
                ended = true
            } else {
                switch try await readChunk(sfi: first ? sfi : nil, offset: bytes.count, length: ask) {
                case .data(let d):
                    bytes += d.prefix(ask)
                    if d.count < ask { ended = true }
                case .endOfFile: ended = true
                case .protected: return .protected
                case .notFound: return .notFound
                }
                if first, let tags = tentativeTags, !Self.plausible(bytes, tags: tags) { return .notFound }
            }
            first = false
            switch Vitale2TemplateScan.scan(bytes, fileEnded: ended) {
            case .complete(let end, _): return .content(Array(bytes[..<end]))
            case .corrupted(let why): throw .corruptedData(file: file, detail: why)
            case .needMore(let through, let start, let templateEnd, let n):
                want = plan.nextChunk(have: bytes.count, through: through, objectStart: start, templateEnd: templateEnd, templates: n)
            }
        }
    }

    /// Reads the current application's EF `fid`: by SFI first (unless already tried in this DF), then SELECT +
    /// READ BINARY. `expectedTags` `nil` accepts any content (a file recognised later by content).
    func readEF(fid: UInt16, expectedTags: Set<UInt8>?, plan: Vitale2ReadPlan, file: String, _ state: inout ReadState)
        async throws(VitaleError) -> Vitale2FileOutcome
    {
        if let sfi = Self.sfi(for: fid), state.triedSFIs.insert(state.current + [sfi]).inserted {
            switch try await readTemplateFile(sfi: sfi, plan: plan, file: file, tentativeTags: expectedTags) {
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
        return try await readTemplateFile(sfi: nil, plan: plan, file: file)
    }

    /// SELECT VITALE; for an unknown ATR a refusal means "not a Vitale" (§5.4 step 3).
    func selectVitale(atr: [UInt8], probing: Bool) async throws(VitaleError) {
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
    }

    /// Reads the file of `role` at its known-layout SFI in the current DF. Leaves the role missing when no file
    /// (or another file) answers there.
    func readKnown(_ role: Vitale2FileRole, _ state: inout ReadState) async throws(VitaleError) {
        let sfi = role.knownSFI
        guard state.triedSFIs.insert(state.current + [sfi]).inserted else { return }
        switch try await readTemplateFile(
            sfi: sfi, plan: role.plan(beneficiaries: state.beneficiaries), file: role.what, tentativeTags: role.expectedTags)
        {
        case .content(let b) where Self.plausible(b, tags: role.expectedTags) && (Self.classify(b).map { $0 == role } ?? true):
            state.store(role, b)
        case .protected:
            state.done.insert(role)
            state.protected.append(VitaleProtectedData(what: role.what, fileID: role.fallbackFID))
        case .content, .notFound: break
        }
    }

    func read(atr: [UInt8], careDate: VitaleDay, probing: Bool) async throws(VitaleError) -> VitaleCard {
        var state = ReadState()
        var vitaleIsCurrent = false
        if !probing {
            // 1. SFI 2 of the current DF: IDENT in the MF after the reset, or BENEF when VITALE is still selected
            state.current = Vitale2Identifiers.mfVitaleAID
            let outcome = try await readTemplateFile(
                sfi: Vitale2FileRole.ident.knownSFI, plan: .ident(expected: nil), file: "identity",
                tentativeTags: Vitale2FileRole.ident.expectedTags.union(Vitale2FileRole.benef.expectedTags))
            if case .content(let b) = outcome, let role = Self.classify(b), role == .ident || role == .benef {
                state.store(role, b)
                vitaleIsCurrent = role == .benef
            }
            state.triedSFIs.insert((vitaleIsCurrent ? Vitale2Identifiers.vitaleAID : Vitale2Identifiers.mfVitaleAID) + [2])
        }
        // 2. SELECT VITALE (the probe for an unknown ATR)
        if !vitaleIsCurrent { try await selectVitale(atr: atr, probing: probing) }
        state.current = Vitale2Identifiers.vitaleAID
        // 3. The VITALE files at their known SFIs
        for role in [Vitale2FileRole.benef, .carte, .amo, .amc] where !state.done.contains(role) {
            try await readKnown(role, &state)
        }
        let vitaleMissing = [Vitale2FileRole.benef, .carte, .amo, .amc].contains { !state.done.contains($0) }
        // 4. IDENT: SELECT MF, SFI 2
        if !vitaleMissing && !state.done.contains(.ident) {
            let sw = try await selectMF()
            if Self.selected(sw) {
                state.current = Vitale2Identifiers.mfVitaleAID
                try await readKnown(.ident, &state)
            }
        }
        // 5. Discovery through POINTERS for what the known layout did not give
        if Vitale2FileRole.allCases.contains(where: { !state.done.contains($0) }) {
            try await discover(&state)
        }
        return try Vitale2Decoder.decode(state.files, atr: atr, careDate: careDate, protectedData: state.protected)
    }

    /// cardpeek's discovery (vitale.md §5.1) for the roles still missing: POINTERS, then the files it announces,
    /// then our `[D]` identifiers.
    func discover(_ state: inout ReadState) async throws(VitaleError) {
        if state.current != Vitale2Identifiers.vitaleAID {
            let sw = try await selectApplication(Vitale2Identifiers.vitaleAID)
            guard Self.selected(sw) else { throw .unexpectedStatus(step: "SELECT VITALE", status: sw) }
            state.current = Vitale2Identifiers.vitaleAID
        }
        var pointers: Vitale2Pointers? = nil
        switch try await readEF(fid: Vitale2Identifiers.pointersFID, expectedTags: [0xE0], plan: .pointers, file: "POINTERS", &state) {
        case .content(let b): pointers = try? Vitale2Pointers(decoding: b)
        case .protected: state.protected.append(VitaleProtectedData(what: "POINTERS", fileID: Vitale2Identifiers.pointersFID))
        case .notFound: break
        }

        // Where the files are: POINTERS (by label), then by content, then our [D] identifiers
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
        // Pass 1: the labelled files still missing; when a role has no label, the other announced files too,
        // recognised by content (cardpeek reads every announced file and parses it by tag, vitale.md §5.1).
        var pass1 = Vitale2FileRole.allCases.compactMap { r in state.done.contains(r) ? nil : located[r] }
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
    }

    /// POINTERS labels of files the read does not need ([D] labels; unknown labels are read and recognised).
    static let notNeededLabels: Set<String> = ["CERT", "PHOTO", "DIR", "PAN"]

    struct ReadState {
        var files = Vitale2Files()
        var done: Set<Vitale2FileRole> = []
        var protected: [VitaleProtectedData] = []
        var current: [UInt8] = Vitale2Identifiers.vitaleAID
        /// (DF name ‖ SFI) already read by SFI: never asked twice.
        var triedSFIs: Set<[UInt8]> = []
        /// Beneficiaries on the card, once IDENT or BENEF is read (sizes the next reads).
        var beneficiaries: Int?

        mutating func store(_ role: Vitale2FileRole, _ b: [UInt8]) {
            done.insert(role)
            switch role {
            case .ident: files.ident = b
            case .benef: files.benef = b
            case .carte: files.carte = b
            case .amo: files.amo = b
            case .amc: files.amc = b
            }
            if (role == .ident || role == .benef) && beneficiaries == nil {
                let n = BERTLV.decodeLenient(b).objects.filter { $0.tag == 0x65 }.count
                if n > 0 { beneficiaries = n }
            }
        }
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
                let plan = l.role?.plan(beneficiaries: state.beneficiaries) ?? .unknown
                let file = l.role?.what ?? "file \(String(l.fid, radix: 16, uppercase: true))"
                switch try await readEF(fid: l.fid, expectedTags: l.role?.expectedTags, plan: plan, file: file, &state) {
                case .content(let b):
                    guard let role = l.role ?? Self.classify(b), !state.done.contains(role) else { continue }
                    state.store(role, b)
                case .protected:
                    if let r = l.role { state.done.insert(r) }
                    state.protected.append(VitaleProtectedData(what: file, fileID: l.fid))
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
