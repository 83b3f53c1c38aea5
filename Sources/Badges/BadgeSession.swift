import CarteCrypto
import ISO7816

/// A session with one contactless badge on one reader: PC/SC part 3 Get UID and the NXP DESFire EV1 native
/// commands wrapped in ISO/IEC 7816-4 (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7).
///
/// It talks to the raw `CardTransport` on purpose: DESFire `91 AF` is DESFire's own continuation and secure
/// messaging needs whole frames, so no APDU pipeline may issue GET RESPONSE or continue a chain behind its back;
/// the session drives every frame chain itself (§7.3).
///
/// After `authenticateAES(keyNumber:key:)` the session key's IV chains through every command and answer: the
/// session MACs each command (`INS ‖ params`) and verifies the 8-byte CMAC the card appends to each answer
/// (`data ‖ 00`), exactly as DESFire EV1 "MACed" communication does. Any error status, a failed MAC or a new
/// SelectApplication ends the authentication.
public actor BadgeSession {
    /// The transport of the contactless reader holding the badge.
    public nonisolated let transport: any CardTransport
    /// The ATR of the card, when known (from `CardTransport.connect`); used to recognise storage cards.
    public nonisolated let atr: [UInt8]?
    private let randomBytes: @Sendable (Int) throws -> [UInt8]

    private struct SecureSession {
        var key: [UInt8]
        var iv: [UInt8]
    }
    private var secure: SecureSession?

    /// - Parameters:
    ///   - transport: a connected transport (contactless reader for `readUID()`).
    ///   - atr: the card's ATR if the caller has it; a PC/SC part 3 storage-card ATR makes `authenticateBadge`
    ///     answer `notAuthenticable` without trying DESFire commands.
    ///   - randomBytes: the source of RndA (16 bytes per authentication); OpenSSL `RAND_bytes` by default. Tests
    ///     inject a fixed one to assert exact bytes.
    public init(
        transport: any CardTransport, atr: [UInt8]? = nil,
        randomBytes: @escaping @Sendable (Int) throws -> [UInt8] = { try SecureRandom.bytes($0) }
    ) {
        self.transport = transport
        self.atr = atr
        self.randomBytes = randomBytes
    }

    /// True between a successful `authenticateAES` and the next error, SelectApplication or authentication.
    public var isAuthenticated: Bool { secure != nil }

    // MARK: UID

    /// The card's UID through the reader's PC/SC part 3 Get UID pseudo-APDU `FF CA 00 00 00` (§7.1).
    ///
    /// The pseudo-APDU is sent only on a contactless slot (`ReaderCapabilities.isContactless`) and only when this
    /// is called. A UID is an identifier, not a proof: see `BadgeAssurance.none`.
    /// - Returns: 4, 7 or 10 bytes (ISO/IEC 14443-3 UID), or what the reader gives (PUPI, IDm), 1…10 bytes.
    /// - Throws: `BadgeError.uidNotAvailable` on a contact slot or when the reader answers `6A 81`, `68 84`,
    ///   `6E 00` or `6D 00`; `.transport`; `.unexpectedStatus` for another status; `.malformedResponse`.
    public func readUID() async throws(BadgeError) -> [UInt8] {
        guard await transport.capabilities.isContactless else { throw .uidNotAvailable }
        let r = try await transmit([0xFF, 0xCA, 0x00, 0x00, 0x00])
        switch r.statusWord.value {
        case 0x9000:
            guard (1...10).contains(r.data.count) else {
                throw .malformedResponse("Get UID gave \(r.data.count) bytes")
            }
            return r.data
        case 0x6A81, 0x6884, 0x6E00, 0x6D00: throw .uidNotAvailable
        default: throw .unexpectedStatus(r.statusWord)
        }
    }

    /// Reads the UID only and says so: assurance `.none`. Use it to display or log a badge, never to decide who
    /// someone is.
    /// - Throws: as `readUID()`.
    public func readBadge() async throws(BadgeError) -> BadgeIdentity {
        BadgeIdentity(uid: try await readUID(), badgeNumber: nil, holder: nil, assurance: .none)
    }

    // MARK: DESFire native commands

    /// GetVersion (`90 60 00 00 00`, then `90 AF 00 00 00` twice), three frames of 7, 7 and 14 bytes. A chain
    /// interrupted by `91 1C` is restarted once.
    /// - Throws: `.notDESFire` when the card refuses CLA `90` (`6E 00`/`6D 00`); `.frameChainBroken` when the
    ///   restarted chain breaks again; `.macMismatch` in an
    ///   authenticated session; `.malformedResponse`; `.transport`; `.unexpectedStatus`.
    public func getVersion() async throws(BadgeError) -> DESFireVersion {
        let bytes = try await restartingOnce { () async throws(BadgeError) -> [UInt8] in
            try await self.chain(DESFire.Command.getVersion.rawValue, [])
        }
        return try DESFireVersion(parsing: bytes)
    }

    /// GetApplicationIDs (`90 6A 00 00 00`): the 3-byte AIDs (LSB first) of the card, frames chained as needed.
    /// - Throws: as `getVersion()`.
    public func getApplicationIDs() async throws(BadgeError) -> [[UInt8]] {
        let bytes = try await restartingOnce { () async throws(BadgeError) -> [UInt8] in
            try await self.chain(DESFire.Command.getApplicationIDs.rawValue, [])
        }
        guard bytes.count % 3 == 0 else { throw .malformedResponse("GetApplicationIDs gave \(bytes.count) bytes") }
        return stride(from: 0, to: bytes.count, by: 3).map { Array(bytes[$0..<($0 + 3)]) }
    }

    /// SelectApplication (`90 5A 00 00 03 AID 00`), AID as 3 bytes LSB first (e.g. `F5 43 41`); `00 00 00` is the
    /// PICC level. Ends any authentication.
    /// - Throws: `.applicationNotFound` (`91 A0`); `.invalidArgument` for an AID that is not 3 bytes; `.notDESFire`;
    ///   `.transport`; `.unexpectedStatus`.
    public func selectApplication(aid: [UInt8]) async throws(BadgeError) {
        guard aid.count == 3 else { throw .invalidArgument("a DESFire AID is 3 bytes, got \(aid.count)") }
        secure = nil
        let (_, status) = try await exchange(DESFire.Command.selectApplication.rawValue, aid)
        guard status == DESFire.Status.ok else { throw error(for: status, aid: aid) }
    }

    /// AuthenticateAES (EV1, native `AA`), mutual (§7.4): `90 AA 00 00 01 KeyNo 00` → `E(K, RndB) 91 AF`;
    /// `90 AF 00 00 20 E(K, RndA ‖ RndB′) 00` → `E(K, RndA′) 91 00`, one AES-CBC IV chain for the whole handshake,
    /// starting from zero. The card's RndA′ is checked; on success the session key is
    /// `RndA[0..3] ‖ RndB[0..3] ‖ RndA[12..15] ‖ RndB[12..15]` with a zero IV.
    /// - Parameters: `keyNumber` 0…13; `key` the AES-128 key (16 bytes), e.g. from `AN10922.diversifyAES128`.
    /// - Throws: `.authenticationFailed` (`91 AE`, or RndA′ wrong); `.noSuchKey` (`91 40`); `.frameChainBroken`
    ///   (`91 1C` on the second step); `.invalidArgument` for a key that is not 16 bytes; `.crypto` when no random
    ///   can be drawn; `.malformedResponse`; `.notDESFire`; `.transport`; `.unexpectedStatus`.
    public func authenticateAES(keyNumber: UInt8, key: [UInt8]) async throws(BadgeError) {
        guard key.count == 16 else { throw .invalidArgument("an AES-128 key is 16 bytes, got \(key.count)") }
        secure = nil
        let zero = [UInt8](repeating: 0, count: 16)
        let (encB, s1) = try await exchange(DESFire.Command.authenticateAES.rawValue, [keyNumber])
        guard s1 == DESFire.Status.additionalFrame else { throw error(for: s1, keyNumber: keyNumber) }
        guard encB.count == 16 else { throw .malformedResponse("E(K, RndB) is \(encB.count) bytes, 16 expected") }
        let rndB = try crypto { () throws(CryptoError) in try AES.decrypt(encB, key: key, mode: .cbc(iv: zero)) }
        var rndA: [UInt8]
        do { rndA = try randomBytes(16) } catch { throw .crypto("no random bytes for RndA: \(error)") }
        guard rndA.count == 16 else { throw .crypto("the random source gave \(rndA.count) bytes, 16 expected") }
        let token = try crypto { () throws(CryptoError) in
            try AES.encrypt(rndA + DESFire.rotateLeft(rndB), key: key, mode: .cbc(iv: encB))
        }
        let (encA, s2) = try await exchange(DESFire.Command.additionalFrame.rawValue, token)
        guard s2 == DESFire.Status.ok else { throw error(for: s2, keyNumber: keyNumber) }
        guard encA.count == 16 else { throw .malformedResponse("E(K, RndA′) is \(encA.count) bytes, 16 expected") }
        let rndARotated = try crypto { () throws(CryptoError) in
            try AES.decrypt(encA, key: key, mode: .cbc(iv: Array(token[16..<32])))
        }
        guard DESFire.constantTimeEqual(rndARotated, DESFire.rotateLeft(rndA)) else {
            throw .authenticationFailed
        }
        secure = SecureSession(key: DESFire.sessionKeyAES(rndA: rndA, rndB: rndB), iv: zero)
        rndA = zero
    }

    /// ReadData (`90 BD 00 00 07 File Offset₃ Length₃ 00`, offset and length LSB first; length 0 = to the end of
    /// the file), frames chained as needed. In an authenticated session the answer's CMAC is verified and removed.
    /// - Returns: the file bytes.
    /// - Throws: `.permissionDenied` (`91 9D`: not authenticated with the file's read key); `.macMismatch`;
    ///   `.frameChainBroken` (`91 1C`: the session is gone, re-authenticate); `.unexpectedStatus` (e.g. `91 F0`
    ///   no such file, `91 BE` outside the file); `.invalidArgument` for an offset or length outside 0…0xFFFFFF;
    ///   `.notDESFire`; `.transport`.
    public func readData(file: UInt8, offset: Int, length: Int) async throws(BadgeError) -> [UInt8] {
        guard (0...0xFF_FFFF).contains(offset), (0...0xFF_FFFF).contains(length) else {
            throw .invalidArgument("ReadData offset and length are 0…16777215")
        }
        return try await chain(
            DESFire.Command.readData.rawValue,
            DESFire.readDataParameters(file: file, offset: offset, length: length))
    }

    // MARK: The badge flow

    /// Authenticates a Carte DESFire badge and reads who it belongs to, all inside ONE transaction
    /// (`CardTransport.withTransaction`): GetVersion (UID), SelectApplication(`layout.aid`), AuthenticateAES with
    /// the key diversified by AN10922 from `siteMasterKey`, UID, AID and system identifier, then ReadData of the
    /// badge file under the session CMAC. A chain interrupted by `91 1C` is restarted once (GetVersion alone, or
    /// select + authenticate + read, since `91 1C` ends the session).
    /// - Parameters: `siteMasterKey` 16 bytes (personas.json `site.desfireMasterKeyAES128`); `layout` where the
    ///   badge keeps its data.
    /// - Returns: the identity at assurance `.desfireAES`.
    /// - Throws: `.notAuthenticable(uid:)` for a storage card (UID-only badge, known by its ATR); `.notDESFire`;
    ///   `.applicationNotFound`; `.authenticationFailed`; `.macMismatch`; `.permissionDenied`;
    ///   `.frameChainBroken`; `.malformedResponse`; `.transport`; `.unexpectedStatus`.
    public func authenticateBadge(
        siteMasterKey: [UInt8], layout: BadgeApplicationLayout = .carte
    ) async throws(BadgeError) -> BadgeIdentity {
        guard siteMasterKey.count == 16 else {
            throw .invalidArgument("the site master key is 16 bytes (AES-128), got \(siteMasterKey.count)")
        }
        return try await inTransaction { @Sendable () async throws(BadgeError) -> BadgeIdentity in
            try await self.badgeFlow(siteMasterKey: siteMasterKey, layout: layout)
        }
    }

    private func badgeFlow(siteMasterKey: [UInt8], layout: BadgeApplicationLayout) async throws(BadgeError)
        -> BadgeIdentity
    {
        if let atr, case .storageCard = ContactlessCardKind(atr: atr) {
            throw .notAuthenticable(uid: try await readUID())
        }
        let version = try await getVersion()
        guard version.isDESFire else { throw .notDESFire }
        let uid = version.uid
        var key = try crypto { () throws(CryptoError) in
            try AN10922.diversifyAES128(
                masterKey: siteMasterKey, uid: uid, aid: layout.aid, systemIdentifier: layout.systemIdentifier)
        }
        defer { key = [] }
        let bytes = try await restartingOnce { () async throws(BadgeError) -> [UInt8] in
            try await self.selectApplication(aid: layout.aid)
            try await self.authenticateAES(keyNumber: layout.keyNumber, key: key)
            return try await self.readData(file: layout.fileNumber, offset: 0, length: 0)
        }
        let content = try BadgeFileContent(parsing: bytes)
        return BadgeIdentity(uid: uid, badgeNumber: content.badgeNumber, holder: content.holder, assurance: .desfireAES)
    }

    // MARK: Plumbing

    /// Runs `body`; if it fails with `.frameChainBroken`, runs it once more.
    private func restartingOnce<T>(_ body: () async throws(BadgeError) -> T) async throws(BadgeError) -> T {
        do {
            return try await body()
        } catch .frameChainBroken {
            return try await body()
        }
    }

    /// Runs `body` inside `CardTransport.withTransaction` (PC/SC `SCardBeginTransaction` … `SCardEndTransaction`),
    /// so no other application can interleave commands; the transaction ends even when `body` throws.
    private func inTransaction<T: Sendable>(
        _ body: @escaping @Sendable () async throws(BadgeError) -> T
    ) async throws(BadgeError) -> T {
        do {
            return try await transport.withTransaction { @Sendable () async throws -> T in try await body() }
        } catch let e as BadgeError {
            throw e
        } catch let e as TransportError {
            throw .transport(e)
        } catch {
            throw .transport(.failed("\(error)"))
        }
    }

    /// The most frames one answer may take (an 8 KB file is about 140 frames of 59 bytes); a card announcing
    /// more is treated as broken rather than followed forever.
    public static let maxFrames = 512

    /// One native command and all its frames: MACs the command in a session, follows `91 AF` with `90 AF`,
    /// verifies and strips the answer CMAC in a session.
    private func chain(_ ins: UInt8, _ params: [UInt8]) async throws(BadgeError) -> [UInt8] {
        if var s = secure {
            s.iv = try crypto { () throws(CryptoError) in try CMAC.aesChained(key: s.key, iv: s.iv, data: [ins] + params) }
            secure = s
        }
        var (all, status) = try await exchange(ins, params)
        var frames = 1
        while status == DESFire.Status.additionalFrame {
            guard frames < Self.maxFrames else {
                secure = nil
                throw .malformedResponse("the card announced more than \(Self.maxFrames) frames")
            }
            frames += 1
            let (more, next) = try await exchange(DESFire.Command.additionalFrame.rawValue, [])
            all += more
            status = next
        }
        guard status == DESFire.Status.ok else {
            secure = nil
            throw error(for: status)
        }
        guard var s = secure else { return all }
        guard all.count >= 8 else {
            secure = nil
            throw .macMismatch
        }
        let data = Array(all.dropLast(8))
        let mac = try crypto { () throws(CryptoError) in
            try CMAC.aesChained(key: s.key, iv: s.iv, data: data + [DESFire.Status.ok])
        }
        guard DESFire.constantTimeEqual(mac[0..<8], all.suffix(8)) else {
            secure = nil
            throw .macMismatch
        }
        s.iv = mac
        secure = s
        return data
    }

    /// Sends `90 INS 00 00 [Lc params] 00`; returns the data and the native status (SW2 of `91 xx`).
    private func exchange(_ ins: UInt8, _ params: [UInt8]) async throws(BadgeError) -> (data: [UInt8], status: UInt8) {
        let r = try await transmit(DESFire.wrap(ins, params))
        guard r.sw1 == 0x91 else {
            secure = nil
            switch r.statusWord.value {
            case 0x6E00, 0x6D00: throw .notDESFire
            default: throw .unexpectedStatus(r.statusWord)
            }
        }
        return (r.data, r.sw2)
    }

    private func transmit(_ bytes: [UInt8]) async throws(BadgeError) -> ResponseAPDU {
        let raw: [UInt8]
        do {
            raw = try await transport.transmit(bytes)
        } catch {
            secure = nil
            throw .transport(error)
        }
        do {
            return try ResponseAPDU(decoding: raw)
        } catch {
            throw .malformedResponse("\(raw.count)-byte answer, no status word")
        }
    }

    private func error(for status: UInt8, aid: [UInt8] = [], keyNumber: UInt8 = 0) -> BadgeError {
        secure = nil
        switch status {
        case DESFire.Status.authenticationError: return .authenticationFailed
        case DESFire.Status.permissionDenied: return .permissionDenied
        case DESFire.Status.applicationNotFound: return .applicationNotFound(aid: aid)
        case DESFire.Status.noSuchKey: return .noSuchKey(keyNumber)
        case DESFire.Status.illegalCommand: return .frameChainBroken
        default: return .unexpectedStatus(StatusWord(sw1: 0x91, sw2: status))
        }
    }

    private func crypto<T>(_ body: () throws(CryptoError) -> T) throws(BadgeError) -> T {
        do {
            return try body()
        } catch {
            secure = nil
            throw .crypto(error.description)
        }
    }
}
