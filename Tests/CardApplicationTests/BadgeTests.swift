import CarteCrypto
import Foundation
import ISO7816
import Testing
@testable import Badges
@testable import CardSimulator

private func hex(_ s: String) -> [UInt8] { [UInt8](hex: s) ?? [0xDE, 0xAD] }

/// Site master key of personas.json `site.desfireMasterKeyAES128`.
private let siteKey = hex("00112233445566778899AABBCCDDEEFF")
private let durandUID = hex("04 5A 3C 12 B2 6E 80")
private let visitorATR = hex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A")

private func rndB(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(0xF0 + $0 % 16) } }
private let rndA: @Sendable (Int) throws -> [UInt8] = { n in (0..<n).map { UInt8($0 % 16) } }

/// A minimal contactless reader around one virtual card, for the badge tests: answers PC/SC part 3 Get UID
/// itself, records every exchange with whether it ran inside a transaction, and injects the faults the tests ask
/// for (another application's command slipped in before a `90 AF`, a flipped answer byte, a removed card).
private final class TestContactlessReader: CardTransport, @unchecked Sendable {
    struct Exchange: Equatable {
        var command: [UInt8]
        var response: [UInt8]
        var inTransaction: Bool
    }
    let readerName = "Test Contactless Reader 00 00"
    private let lock = NSLock()
    private let card: any VirtualCard
    private let uid: [UInt8]?
    private let contactless: Bool
    private(set) var log: [Exchange] = []
    private(set) var transactionsBegun = 0
    private(set) var transactionsEnded = 0
    private var inTransaction = false
    private var afCount = 0
    /// 1-based indexes of the `90 AF` commands before which another application sends `90 6A 00 00 00`.
    var interleaveBeforeAF: Set<Int> = []
    /// 1-based index of the transmit whose answer gets its byte before SW1 flipped.
    var corruptTransmit: Int?
    var cardRemoved = false

    init(card: any VirtualCard, uid: [UInt8]?, contactless: Bool = true) {
        self.card = card
        self.uid = uid
        self.contactless = contactless
        card.powerOn()
    }

    var capabilities: ReaderCapabilities {
        get async { ReaderCapabilities(isContactless: contactless) }
    }

    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        CardConnectionInfo(atr: card.atr, activeProtocol: .t1)
    }

    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        try handle(command)
    }

    private func handle(_ command: [UInt8]) throws(TransportError) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if cardRemoved { throw .cardRemoved }
        var response: [UInt8]
        if contactless, command == [0xFF, 0xCA, 0x00, 0x00, 0x00] {
            response = (uid ?? []) + (uid == nil ? [0x6A, 0x81] : [0x90, 0x00])
        } else {
            if command.count >= 2, command[0] == 0x90, command[1] == 0xAF {
                afCount += 1
                if interleaveBeforeAF.contains(afCount) {
                    let other = card.process([0x90, 0x6A, 0x00, 0x00, 0x00])
                    log.append(Exchange(command: [0x90, 0x6A, 0x00, 0x00, 0x00], response: other, inTransaction: false))
                }
            }
            response = card.process(command)
        }
        if let c = corruptTransmit, c == log.count + 1, response.count > 2 {
            response[response.count - 3] ^= 0x01
            corruptTransmit = nil
        }
        log.append(Exchange(command: command, response: response, inTransaction: inTransaction))
        return response
    }

    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] {
        throw .notSupported("control")
    }

    func beginTransaction() async throws(TransportError) {
        lock.withLock {
            transactionsBegun += 1
            inTransaction = true
        }
    }

    func endTransaction() async {
        lock.withLock {
            transactionsEnded += 1
            inTransaction = false
        }
    }

    func disconnect(_ disposition: CardDisposition) async {}

    var commands: [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return log.map(\.command)
    }
    var exchanges: [Exchange] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }
}

private func durandReader() throws -> TestContactlessReader {
    let card = try DESFireCard.bundledPersona("desfire-durand", random: rndB)
    return TestContactlessReader(card: card, uid: card.uid)
}

// MARK: - Vectors

@Suite struct BadgeCryptoVectorTests {
    /// NXP AN10922 §2.2.1 table 2 (AES-128 diversification worked example): master key 00112233…EEFF,
    /// UID 04782E21801D80, AID 3042F5, system identifier 4E585020416275 ("NXP Abu").
    @Test func an10922WorkedExample() throws {
        let m = hex("04782E21801D80") + hex("3042F5") + hex("4E585020416275")
        #expect(AN10922.diversificationInput(uid: hex("04782E21801D80"), aid: hex("3042F5"), systemIdentifier: hex("4E585020416275")) == m)
        let (k1, k2) = try CMAC.aesSubkeys(key: siteKey)
        #expect(k1 == hex("FBC9F75C9413C041DFEE452D3F0706D1"))
        #expect(k2 == hex("F793EEB928278083BFDC8A5A7E0E0D25"))
        #expect(try AN10922.diversifyAES128(masterKey: siteKey, input: m) == hex("A8DD63A3B89D54B37CA802473FDA9175"))
    }

    /// A diversification input of 15 bytes: D = 01 ‖ M fits one block, but AN10922 still pads to 32 bytes (K2),
    /// so the result differs from the plain CMAC of D (which would pad to 16). Values computed independently.
    @Test func an10922ShortInputPadsToTwoBlocks() throws {
        let m = durandUID + hex("F54341") + Array("CARTE".utf8)
        #expect(try AN10922.diversifyAES128(masterKey: siteKey, input: m) == hex("DC6C4462C65942F6A4DC5A4B7AEF5A83"))
        #expect(try CMAC.aes(key: siteKey, data: [0x01] + m) == hex("6C3131B890D0C74F962368D8F145D265"))
    }

    @Test func an10922PersonaKeyAndErrors() throws {
        #expect(
            try AN10922.diversifyAES128(masterKey: siteKey, uid: durandUID, aid: hex("F54341"))
                == hex("47E7896EABC2DFB54C72C39BEF2023D6"))
        #expect(AN10922.carteSystemIdentifier == hex("43 41 52 54 45 2D 53 49 54 45"))
        #expect(BadgeApplicationLayout.carte.systemIdentifier == AN10922.carteSystemIdentifier)
        #expect(throws: CryptoError.self) { try AN10922.diversifyAES128(masterKey: siteKey, input: []) }
        #expect(throws: CryptoError.self) {
            try AN10922.diversifyAES128(masterKey: siteKey, input: [UInt8](repeating: 1, count: 32))
        }
        #expect(throws: CryptoError.self) { try AN10922.diversifyAES128(masterKey: [1, 2], input: [1]) }
    }

    /// RFC 4493 §4 (subkeys, empty message, one block) with a zero IV, and the DESFire EV1 communication examples'
    /// ChangeKey(1) answer CMAC: session key C2A1E47B…, IV = last cryptogram block 30337408…, data `00`.
    @Test func cmacVectors() throws {
        let k = hex("2b7e151628aed2a6abf7158809cf4f3c")
        let (k1, k2) = try CMAC.aesSubkeys(key: k)
        #expect(k1 == hex("fbeed618357133667c85e08f7236a8de"))
        #expect(k2 == hex("f7ddac306ae266ccf90bc11ee46d513b"))
        let zero = [UInt8](repeating: 0, count: 16)
        #expect(try CMAC.aesChained(key: k, iv: zero, data: []) == hex("bb1d6929e95937287fa37d129b756746"))
        #expect(
            try CMAC.aesChained(key: k, iv: zero, data: hex("6bc1bee22e409f96e93d7e117393172a"))
                == hex("070a16b46b4d4144f79bdd9dd04a287c"))
        #expect(
            try CMAC.aesChained(
                key: hex("C2A1E47BD8100044FE6D00A74D7AB17C"), iv: hex("30337408C8A87EACAB7A1FF18951FCA3"), data: [0x00])
                == hex("2128D3CD9C9ACFFFF6EB9546ADF35E17"))
        #expect(throws: CryptoError.self) { try CMAC.aesChained(key: k, iv: [0], data: []) }
    }

    /// Session keys of the DESFire EV1 communication examples (AES, key 0 = zeros and key 1 = 10 18 20 28 …).
    @Test func sessionKeyDerivation() {
        #expect(
            DESFire.sessionKeyAES(rndA: hex("F44B26F5686F3A391CD38EBD10772281"), rndB: hex("C05DDD714FD788A6B7B754F3C4D066E8"))
                == hex("F44B26F5C05DDD7110772281C4D066E8"))
        #expect(
            DESFire.sessionKeyAES(rndA: hex("40E7D27174CBA675E8EFBAB99C530E3D"), rndB: hex("626FFBD45CAF334ACCA45599304F5B17"))
                == hex("40E7D271626FFBD49C530E3D304F5B17"))
        #expect(DESFire.sessionKeyAES(rndA: [1], rndB: [2]) == [])
        #expect(DESFire.rotateLeft(hex("01 02 03")) == hex("02 03 01"))
    }

    @Test func commandWrapping() {
        #expect(DESFire.wrap(0x60) == hex("90 60 00 00 00"))
        #expect(DESFire.wrap(0x5A, hex("F5 43 41")) == hex("90 5A 00 00 03 F5 43 41 00"))
        #expect(DESFire.readDataParameters(file: 1, offset: 0x010203, length: 0x20) == hex("01 03 02 01 20 00 00"))
    }
}

// MARK: - Parsers

@Suite struct BadgeParserTests {
    /// GetVersion frames of a real DESFire EV1 8K from the EV1 communication examples.
    @Test func versionOfARealCard() throws {
        let v = try DESFireVersion(
            parsing: hex("04 01 01 01 00 1A 05") + hex("04 01 01 01 04 1A 05") + hex("04 06 3F 72 63 34 80 BA 45 19 E3 20 49 13"))
        #expect(v.hardware.vendorName == "NXP")
        #expect(v.hardware.storageSize == 8192)
        #expect(v.hardware.storageSizeIsExact)
        #expect(v.software.minorVersion == 4)
        #expect(v.uid == hex("04 06 3F 72 63 34 80"))
        #expect(v.batchNumber == hex("BA 45 19 E3 20"))
        #expect(v.productionWeek == 49)
        #expect(v.productionYear == 2013)
        #expect(v.isDESFire)
    }

    @Test func versionOddStorageAndBadBCD() throws {
        var bytes = hex("04 01 01 01 00 19 05 04 01 01 01 04 19 05 04 06 3F 72 63 34 80 BA 45 19 E3 20 4A 13")
        let v = try DESFireVersion(parsing: bytes)
        #expect(v.hardware.storageSize == 4096)
        #expect(!v.hardware.storageSizeIsExact)
        #expect(v.productionWeek == nil)
        bytes[0] = 0x05
        #expect(try !DESFireVersion(parsing: bytes).isDESFire)
        #expect(try DESFireVersion(parsing: bytes).hardware.vendorName == "vendor 05")
        #expect(throws: BadgeError.malformedResponse("GetVersion gave 27 bytes, 28 expected (7 + 7 + 14)")) {
            try DESFireVersion(parsing: Array(bytes.dropLast()))
        }
    }

    @Test func badgeContent() throws {
        let file = hex("01 01 08") + Array("B-000417".utf8) + hex("02 0B") + Array("cps3-durand".utf8) + [0, 0, 0]
        let c = try BadgeFileContent(parsing: file)
        #expect(c.badgeNumber == "B-000417")
        #expect(c.holder == "cps3-durand")
        // Unknown tags are skipped.
        #expect(try BadgeFileContent(parsing: hex("01 7F 01 AA") + Array(file.dropFirst())).holder == "cps3-durand")
        #expect(throws: BadgeError.malformedResponse("the badge file is empty")) { try BadgeFileContent(parsing: []) }
        #expect(throws: BadgeError.malformedResponse("badge file layout version 2 unknown")) {
            try BadgeFileContent(parsing: [0x02] + file.dropFirst())
        }
        #expect(throws: BadgeError.malformedResponse("badge file TLV 1 runs past the end of the file")) {
            try BadgeFileContent(parsing: hex("01 01 09 41"))
        }
        #expect(throws: BadgeError.malformedResponse("the badge file has no holder")) {
            try BadgeFileContent(parsing: hex("01 01 01 41 00"))
        }
        #expect(throws: BadgeError.malformedResponse("the badge number is not UTF-8")) {
            try BadgeFileContent(parsing: hex("01 01 01 FF"))
        }
    }

    @Test func contactlessATRKinds() {
        #expect(ContactlessCardKind(atr: visitorATR) == .storageCard(standard: 0x03, cardName: 0x0001))
        #expect(ContactlessCardKind(atr: hex("3B 81 80 01 80 80")) == .iso14443_4(historicalBytes: [0x80]))
        #expect(ContactlessCardKind(atr: hex("3B 75 13 00 00 45 09 EA 90 00")) == .unknown)
        #expect(ContactlessCardKind(atr: hex("3B 8F 80 01")) == .unknown)
    }

    @Test func parsersNeverCrashOnRandomInput() {
        var seed: UInt64 = 0xBADC_0FFE
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let base = hex("01 01 08") + Array("B-000417".utf8) + hex("02 0B") + Array("cps3-durand".utf8)
        var parsed = 0
        for i in 0..<20000 {
            var b: [UInt8]
            if i % 2 == 0 {
                b = base
                for _ in 0..<(1 + Int(next() % 3)) { b[Int(next() % UInt64(b.count))] = UInt8(next() & 0xFF) }
                if next() % 4 == 0 { b = Array(b.prefix(Int(next() % UInt64(b.count)))) }
            } else {
                b = (0..<Int(next() % 40)).map { _ in UInt8(next() & 0xFF) }
            }
            if (try? BadgeFileContent(parsing: b)) != nil { parsed += 1 }
            _ = try? DESFireVersion(parsing: b)
            _ = ContactlessCardKind(atr: b)
        }
        #expect(parsed > 0)
    }
}

// MARK: - BadgeSession against the simulated cards

@Suite struct BadgeSessionTests {
    /// The EV1 communication examples' AES handshake (key 0 = 16 zero bytes), replayed byte for byte: the card
    /// draws RndB C05DDD71…, the host RndA F44B26F5….
    @Test func authenticateAESPublicExampleExactBytes() async throws {
        let key = [UInt8](repeating: 0, count: 16)
        let file = DESFireCard.StandardFile(content: [1, 2, 3], communication: .maced, readKey: 0)
        let card = DESFireCard(
            uid: durandUID, atr: hex("3B 81 80 01 80 80"),
            applications: [DESFireCard.Application(aid: hex("AE 16 00"), keys: [key], files: [1: file])],
            random: { _ in hex("C05DDD714FD788A6B7B754F3C4D066E8") })
        let reader = TestContactlessReader(card: card, uid: durandUID)
        let session = BadgeSession(transport: reader, randomBytes: { _ in hex("F44B26F5686F3A391CD38EBD10772281") })
        try await session.selectApplication(aid: hex("AE 16 00"))
        try await session.authenticateAES(keyNumber: 0, key: key)
        let x = reader.exchanges
        #expect(x[1].command == hex("90 AA 00 00 01 00 00"))
        #expect(x[1].response == hex("B9 69 FD FE 56 FD 91 FC 9D E6 F6 F2 13 B8 FD 1E 91 AF"))
        #expect(
            x[2].command
                == hex("90 AF 00 00 20 36 AA D7 DF 6E 43 6B A0 8D 18 61 38 30 A7 0D 5A D4 3E 3D 3F 4A 8D 47 54 1E EE 62 3A 93 4E 47 74 00"))
        #expect(x[2].response == hex("80 0D B6 80 BC 14 6B D1 21 D6 57 8F 2D 2E 20 59 91 00"))
        #expect(await session.isAuthenticated)
        // Both sides derived the same session key: the MACed read verifies.
        #expect(try await session.readData(file: 1, offset: 0, length: 0) == [1, 2, 3])
    }

    /// The second AES example (key 1 = 10 18 20 28 … 88).
    @Test func authenticateAESSecondPublicExample() async throws {
        let key = hex("10 18 20 28 30 38 40 48 50 58 60 68 70 78 80 88")
        let card = DESFireCard(
            uid: durandUID, atr: hex("3B 81 80 01 80 80"),
            applications: [DESFireCard.Application(aid: hex("AE 16 00"), keys: [key, key], files: [:])],
            random: { _ in hex("626FFBD45CAF334ACCA45599304F5B17") })
        let reader = TestContactlessReader(card: card, uid: durandUID)
        let session = BadgeSession(transport: reader, randomBytes: { _ in hex("40E7D27174CBA675E8EFBAB99C530E3D") })
        try await session.selectApplication(aid: hex("AE 16 00"))
        try await session.authenticateAES(keyNumber: 1, key: key)
        let x = reader.exchanges
        #expect(x[1].response == hex("B3 51 CB 24 65 D4 F3 3A C6 27 FD 6E 87 A1 68 F2 91 AF"))
        #expect(
            x[2].command
                == hex("90 AF 00 00 20 04 4B 6C AC 34 3A 08 65 89 51 49 64 9C A8 DD E1 F5 AC 4E C6 7B D2 08 90 0A F0 2F 04 9E 05 F0 B0 00"))
        #expect(x[2].response == hex("A2 EE 14 4B 10 12 FB EB 7B 2F 11 13 2D 95 A4 54 91 00"))
    }

    @Test func getVersionThreeFramesParsed() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        let v = try await session.getVersion()
        #expect(reader.commands == [hex("90 60 00 00 00"), hex("90 AF 00 00 00"), hex("90 AF 00 00 00")])
        #expect(v.hardware.vendorID == 0x04)
        #expect(v.hardware.type == 0x01)
        #expect(v.hardware.majorVersion == 1)
        #expect(v.hardware.minorVersion == 0)
        #expect(v.hardware.storageSize == 4096)
        #expect(v.hardware.protocolType == 0x05)
        #expect(v.software.minorVersion == 4)
        #expect(v.uid == durandUID)
        #expect(v.batchNumber == hex("BA 7C 00 04 17"))
        #expect(v.productionWeek == 12)
        #expect(v.productionYear == 2024)
        #expect(try await session.getApplicationIDs() == [hex("F5 43 41")])
    }

    /// In an authenticated session every command and answer moves the CMAC IV: GetVersion and GetApplicationIDs
    /// answers carry an 8-byte CMAC, and the read that follows still verifies.
    @Test func ivChainsThroughPlainCommandsOfTheSession() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        try await session.selectApplication(aid: hex("F5 43 41"))
        try await session.authenticateAES(keyNumber: 1, key: hex("47E7896EABC2DFB54C72C39BEF2023D6"))
        let v = try await session.getVersion()
        #expect(v.uid == durandUID)
        #expect(reader.exchanges.last?.response.count == 14 + 8 + 2)
        #expect(try await session.getApplicationIDs() == [hex("F5 43 41")])
        #expect(reader.exchanges.last?.response.count == 3 + 8 + 2)
        let bytes = try await session.readData(file: 1, offset: 3, length: 8)
        #expect(bytes == Array("B-000417".utf8))
        #expect(await session.isAuthenticated)
        // An error status ends the session.
        await #expect(throws: BadgeError.unexpectedStatus(StatusWord(0x91BE))) {
            try await session.readData(file: 1, offset: 60, length: 8)
        }
        #expect(await !session.isAuthenticated)
        await #expect(throws: BadgeError.permissionDenied) { try await session.readData(file: 1, offset: 0, length: 1) }
    }

    @Test func selectApplicationBytesAndNotFound() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        try await session.selectApplication(aid: hex("F5 43 41"))
        #expect(reader.commands.last == hex("90 5A 00 00 03 F5 43 41 00"))
        await #expect(throws: BadgeError.applicationNotFound(aid: hex("01 02 03"))) {
            try await session.selectApplication(aid: hex("01 02 03"))
        }
        await #expect(throws: BadgeError.invalidArgument("a DESFire AID is 3 bytes, got 2")) {
            try await session.selectApplication(aid: hex("01 02"))
        }
    }

    @Test func wrongKeyIsAuthenticationFailed() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        try await session.selectApplication(aid: hex("F5 43 41"))
        await #expect(throws: BadgeError.authenticationFailed) {
            try await session.authenticateAES(keyNumber: 1, key: [UInt8](repeating: 0x42, count: 16))
        }
        #expect(reader.exchanges.last?.response == hex("91 AE"))
        #expect(await !session.isAuthenticated)
        await #expect(throws: BadgeError.noSuchKey(5)) {
            try await session.authenticateAES(keyNumber: 5, key: [UInt8](repeating: 0x42, count: 16))
        }
    }

    @Test func wrongSiteKeyFailsTheBadge() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.authenticationFailed) {
            try await session.authenticateBadge(siteMasterKey: [UInt8](repeating: 0x11, count: 16))
        }
        #expect(reader.transactionsBegun == 1)
        #expect(reader.transactionsEnded == 1)
    }

    @Test func readDataBeforeAuthenticationIsPermissionDenied() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        try await session.selectApplication(aid: hex("F5 43 41"))
        await #expect(throws: BadgeError.permissionDenied) {
            try await session.readData(file: 1, offset: 0, length: 0)
        }
        #expect(reader.exchanges.last?.command == hex("90 BD 00 00 07 01 00 00 00 00 00 00 00"))
        #expect(reader.exchanges.last?.response == hex("91 9D"))
    }

    /// The whole badge flow against the simulated `desfire-durand`, exact C-APDUs, one transaction.
    @Test func authenticateBadgeDurand() async throws {
        let reader = try durandReader()
        let session = BadgeSession(transport: reader, atr: hex("3B 81 80 01 80 80"), randomBytes: rndA)
        let identity = try await session.authenticateBadge(siteMasterKey: siteKey)
        #expect(identity == BadgeIdentity(uid: durandUID, badgeNumber: "B-000417", holder: "cps3-durand", assurance: .desfireAES))
        #expect(
            reader.commands == [
                hex("90 60 00 00 00"), hex("90 AF 00 00 00"), hex("90 AF 00 00 00"),
                hex("90 5A 00 00 03 F5 43 41 00"),
                hex("90 AA 00 00 01 01 00"),
                hex("90 AF 00 00 20 AE D2 17 9F 24 98 6C C0 45 23 51 82 B0 80 7B 21 9C C0 02 48 DA 13 5C 86 6C 71 8A 7C E2 9D 86 5F 00"),
                hex("90 BD 00 00 07 01 00 00 00 00 00 00 00"),
                hex("90 AF 00 00 00"),
            ])
        #expect(reader.exchanges.last?.response == hex("00 00 00 00 00 B4 FD 3B 8F FB 78 AF 83 91 00"))
        #expect(reader.transactionsBegun == 1)
        #expect(reader.transactionsEnded == 1)
        #expect(reader.exchanges.allSatisfy { $0.inTransaction })
        // No Get UID was sent: nobody asked for it.
        #expect(!reader.commands.contains(hex("FF CA 00 00 00")))
    }

    @Test func getVersionChainInterruptedIsRestartedOnce() async throws {
        let reader = try durandReader()
        reader.interleaveBeforeAF = [1]
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        let v = try await session.getVersion()
        #expect(v.uid == durandUID)
        #expect(
            reader.commands == [
                hex("90 60 00 00 00"), hex("90 6A 00 00 00"), hex("90 AF 00 00 00"),
                hex("90 60 00 00 00"), hex("90 AF 00 00 00"), hex("90 AF 00 00 00"),
            ])
        #expect(reader.exchanges[1].response == hex("91 1C"))
        #expect(reader.exchanges[2].response == hex("91 1C"))
    }

    @Test func chainBrokenTwiceIsFrameChainBroken() async throws {
        let reader = try durandReader()
        reader.interleaveBeforeAF = [1, 2]
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.frameChainBroken) { try await session.getVersion() }
        #expect(reader.commands.filter { $0 == hex("90 60 00 00 00") }.count == 2)
    }

    /// `91 1C` in the ReadData chain ends the session: the flow restarts select + authenticate + read once.
    @Test func badgeFlowRestartsAfterReadDataChainBroken() async throws {
        let reader = try durandReader()
        reader.interleaveBeforeAF = [4]  // AF 1-2: GetVersion, 3: authentication, 4: ReadData's second frame
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        let identity = try await session.authenticateBadge(siteMasterKey: siteKey)
        #expect(identity.badgeNumber == "B-000417")
        #expect(reader.commands.filter { $0 == hex("90 AA 00 00 01 01 00") }.count == 2)
        #expect(reader.transactionsBegun == 1)
    }

    @Test func alteredAnswerIsMacMismatch() async throws {
        let reader = try durandReader()
        reader.corruptTransmit = 8  // the last ReadData frame (ends with the CMAC)
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.macMismatch) { try await session.authenticateBadge(siteMasterKey: siteKey) }
        #expect(await !session.isAuthenticated)
    }

    @Test func alteredDataIsMacMismatch() async throws {
        let reader = try durandReader()
        reader.corruptTransmit = 7  // the first ReadData frame: data only, the MAC comes in the next frame
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.macMismatch) { try await session.authenticateBadge(siteMasterKey: siteKey) }
    }

    @Test func removedCardIsTransportError() async throws {
        let reader = try durandReader()
        reader.cardRemoved = true
        let session = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.transport(.cardRemoved)) { try await session.authenticateBadge(siteMasterKey: siteKey) }
        #expect(reader.transactionsEnded == 1)
    }

    // MARK: UID

    @Test func uidOnlyBadgeGivesAUIDButNoAuthentication() async throws {
        let card = UIDOnlyCard(uid: hex("A1 B2 C3 D4"), atr: visitorATR)
        let reader = TestContactlessReader(card: card, uid: card.uid)
        let session = BadgeSession(transport: reader, atr: visitorATR, randomBytes: rndA)
        let identity = try await session.readBadge()
        #expect(identity == BadgeIdentity(uid: hex("A1 B2 C3 D4"), badgeNumber: nil, holder: nil, assurance: .none))
        #expect(reader.commands == [hex("FF CA 00 00 00")])
        await #expect(throws: BadgeError.notAuthenticable(uid: hex("A1 B2 C3 D4"))) {
            try await session.authenticateBadge(siteMasterKey: siteKey)
        }
        // Without the ATR the card is still refused: it does not speak DESFire.
        let blind = BadgeSession(transport: reader, randomBytes: rndA)
        await #expect(throws: BadgeError.notDESFire) { try await blind.authenticateBadge(siteMasterKey: siteKey) }
        #expect(reader.exchanges.last?.response == hex("6E 00"))
    }

    @Test func getUIDOnlyOnContactlessSlots() async throws {
        let card = UIDOnlyCard(uid: hex("A1 B2 C3 D4"), atr: visitorATR)
        let contact = TestContactlessReader(card: card, uid: card.uid, contactless: false)
        await #expect(throws: BadgeError.uidNotAvailable) { try await BadgeSession(transport: contact).readUID() }
        #expect(contact.commands.isEmpty)
        let noUID = TestContactlessReader(card: card, uid: nil)
        await #expect(throws: BadgeError.uidNotAvailable) { try await BadgeSession(transport: noUID).readUID() }
        #expect(noUID.exchanges.map(\.response) == [hex("6A 81")])
    }

    @Test func desfireUIDThroughTheReader() async throws {
        let reader = try durandReader()
        #expect(try await BadgeSession(transport: reader).readUID() == durandUID)
    }

    @Test func errorsSayWhatHappened() {
        #expect(BadgeError.notAuthenticable(uid: hex("A1 B2")).description.contains("only carries a UID"))
        #expect(BadgeError.transport(.cardRemoved).description == "the card was removed")
        #expect(BadgeError.unexpectedStatus(StatusWord(0x91BE)).description.contains("91 BE"))
    }
}

// MARK: - Through the simulator's contactless reader (PC/SC part 3 ATR, FF CA answered by the reader)

@Suite struct BadgeSimulatedReaderTests {
    private func contactlessReader(with card: sending any VirtualCard) async throws -> (SimulatedReader, [UInt8]) {
        let reader = SimulatedReader(name: "Simulated Contactless 00 00", configuration: .contactless())
        await reader.insert(card)
        let info = try await reader.connect(preferred: [.t1])
        return (reader, info.atr)
    }

    @Test func desfireDurandAuthenticatesThroughTheContactlessReader() async throws {
        let reader = SimulatedReader(name: "Simulated Contactless 00 00", configuration: .contactless())
        try await reader.insert(persona: "desfire-durand")
        let info = try await reader.connect(preferred: [.t1])
        #expect(info.atr == hex("3B 81 80 01 80 80"))
        let session = BadgeSession(transport: reader, atr: info.atr)
        #expect(try await session.readUID() == durandUID)
        let identity = try await session.authenticateBadge(siteMasterKey: siteKey)
        #expect(identity == BadgeIdentity(uid: durandUID, badgeNumber: "B-000417", holder: "cps3-durand", assurance: .desfireAES))
        let apdus = await reader.transcript.filter { $0.kind == .apdu }.map(\.command)
        #expect(apdus.count == 8)
        #expect(apdus[3] == hex("90 5A 00 00 03 F5 43 41 00"))
        #expect(apdus[4] == hex("90 AA 00 00 01 01 00"))
        #expect(apdus[6] == hex("90 BD 00 00 07 01 00 00 00 00 00 00 00"))
        #expect(await !reader.isInTransaction)
    }

    @Test func exactBytesThroughTheContactlessReader() async throws {
        let (reader, atr) = try await contactlessReader(with: try DESFireCard.bundledPersona("desfire-durand", random: rndB))
        let session = BadgeSession(transport: reader, atr: atr, randomBytes: rndA)
        _ = try await session.authenticateBadge(siteMasterKey: siteKey)
        let last = await reader.transcript.last
        #expect(last?.command == hex("90 AF 00 00 00"))
        #expect(last?.response == hex("00 00 00 00 00 B4 FD 3B 8F FB 78 AF 83 91 00"))
    }

    @Test func alteredMACOnTheWireIsRefused() async throws {
        let (reader, atr) = try await contactlessReader(with: try DESFireCard.bundledPersona("desfire-durand"))
        // APDU 8 is ReadData's last frame: 5 data bytes, the 8-byte CMAC, 91 00. Flip a bit of the CMAC.
        await reader.setFaultPlan(FaultPlan([.corruptResponse(apdu: 8, byteIndex: 9, mask: 0x40)]))
        let session = BadgeSession(transport: reader, atr: atr)
        await #expect(throws: BadgeError.macMismatch) { try await session.authenticateBadge(siteMasterKey: siteKey) }
        #expect(await !reader.isInTransaction)
    }

    @Test func badgeTakenAwayMidFlow() async throws {
        let (reader, atr) = try await contactlessReader(with: try DESFireCard.bundledPersona("desfire-durand"))
        await reader.setFaultPlan(FaultPlan([.cardRemovedBefore(apdu: 5)]))
        let session = BadgeSession(transport: reader, atr: atr)
        await #expect(throws: BadgeError.transport(.cardRemoved)) {
            try await session.authenticateBadge(siteMasterKey: siteKey)
        }
        #expect(await !reader.isInTransaction)
    }

    @Test func visitorBadgeIsOnlyAUID() async throws {
        let persona = try #require(try PersonaCatalog.personas().badges.first { $0.id == "uid-visitor" })
        let (reader, atr) = try await contactlessReader(with: try UIDOnlyCard(persona: persona))
        #expect(atr == visitorATR)
        let session = BadgeSession(transport: reader, atr: atr)
        let identity = try await session.readBadge()
        #expect(identity.uid == hex("A1 B2 C3 D4"))
        #expect(identity.assurance == .none)
        await #expect(throws: BadgeError.notAuthenticable(uid: hex("A1 B2 C3 D4"))) {
            try await session.authenticateBadge(siteMasterKey: siteKey)
        }
        // Nothing but Get UID was sent: no DESFire command reached the storage card.
        #expect(await reader.transcript.filter { $0.kind == .apdu }.isEmpty)
    }
}

/// A card that answers anything: random R-APDUs, often `91 AF` forever. The session must always end with a
/// result or a `BadgeError`, never a crash or an endless chain.
private final class ChaosTransport: CardTransport, @unchecked Sendable {
    let readerName = "Chaos 00 00"
    private let lock = NSLock()
    private var seed: UInt64
    private(set) var count = 0
    init(seed: UInt64) { self.seed = seed }
    var capabilities: ReaderCapabilities { get async { ReaderCapabilities(isContactless: true) } }
    func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
        CardConnectionInfo(atr: hex("3B 81 80 01 80 80"), activeProtocol: .t1)
    }
    private func next() -> UInt64 {
        lock.withLock {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            count += 1
            return seed >> 33
        }
    }
    func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] {
        let r = next()
        switch r % 8 {
        case 0: return [0x91, 0xAF]
        case 1: return (0..<Int(next() % 30)).map { _ in UInt8(next() & 0xFF) } + [0x91, 0xAF]
        case 2: return (0..<Int(next() % 30)).map { _ in UInt8(next() & 0xFF) } + [0x91, 0x00]
        case 3: return (0..<Int(next() % 3)).map { _ in UInt8(next() & 0xFF) }
        case 4: return [0x91, UInt8(next() & 0xFF)]
        case 5: if r % 64 == 5 { throw .cardRemoved } else { return [0x91, 0xAF] }
        default: return (0..<Int(next() % 40)).map { _ in UInt8(next() & 0xFF) }
        }
    }
    func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] { [] }
    func beginTransaction() async throws(TransportError) {}
    func endTransaction() async {}
    func disconnect(_ disposition: CardDisposition) async {}
}

@Suite struct BadgeSessionRobustnessTests {
    @Test func randomAnswersAlwaysEndInAResultOrABadgeError() async {
        var outcomes = 0
        for seed in 1...300 {
            let session = BadgeSession(transport: ChaosTransport(seed: UInt64(seed)), randomBytes: rndA)
            do {
                _ = try await session.authenticateBadge(siteMasterKey: siteKey)
            } catch {
                outcomes += 1
            }
            _ = try? await session.readUID()
            _ = try? await session.getApplicationIDs()
        }
        #expect(outcomes == 300)
    }

    @Test func endlessAdditionalFramesAreCut() async {
        final class EndlessAF: CardTransport, @unchecked Sendable {
            let readerName = "AF 00 00"
            var capabilities: ReaderCapabilities { get async { ReaderCapabilities(isContactless: true) } }
            func connect(preferred: Set<TransmissionProtocol>) async throws(TransportError) -> CardConnectionInfo {
                CardConnectionInfo(atr: [0x3B, 0x00], activeProtocol: .t1)
            }
            func transmit(_ command: [UInt8]) async throws(TransportError) -> [UInt8] { [0x01, 0x91, 0xAF] }
            func control(code: UInt32, data: [UInt8]) async throws(TransportError) -> [UInt8] { [] }
            func beginTransaction() async throws(TransportError) {}
            func endTransaction() async {}
            func disconnect(_ disposition: CardDisposition) async {}
        }
        let session = BadgeSession(transport: EndlessAF())
        await #expect(throws: BadgeError.malformedResponse("the card announced more than 512 frames")) {
            try await session.getVersion()
        }
    }
}
