import Authentication
import CPS
import CardSimulator
import CarteCrypto
import Foundation
import ISO7816
import Testing

@Suite("CPS session on a simulated CPS3 (cps.md §11.2 layout)")
struct CPSSessionReadTests {
    @Test("durand reads back field for field; the authentication certificate is found through the CDF")
    func readDurand() async throws {
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand")
        let cache = CPSCertificateCache()
        let s = try await CPSSession.connect(reader, certificateCache: cache)
        let r = try await s.read()
        #expect(r.interface == .contact)
        #expect(r.serial?.digits == "00412345")
        #expect(r.efATR?.ioBufferSizes == [260, 260, 256, 256])
        #expect(r.pinTriesLeft == 3)
        let h = r.holder
        #expect(h.cardType == .cps)
        #expect(h.idNatType == 8)
        #expect(h.idNat == "899700412345")
        #expect(h.rpps == "99700412345")
        #expect(h.civilite == "MME")
        #expect(h.nomExercice == "DURAND")
        #expect(h.prenomExercice == "ALICE")
        #expect(h.profession == "10")
        #expect(h.specialite == "SM26")
        #expect(h.isTestCard == true)
        let cred = try Fixture.pki().credentials(forPersona: "cps3-durand")
        let auth = try #require(r.certificates.first { $0.usage == .authentication })
        #expect(auth.certificate == cred.authCert)
        #expect(auth.path == [0x3F, 0x00, 0x00, 0x01, 0xC0, 0xA2])
        #expect(auth.keyUsage?.contains(.digitalSignature) == true)
        #expect(auth.sha256 == Digest.sha256(cred.authCert.der))
        let sig = try #require(r.certificates.first { $0.usage == .signature })
        #expect(sig.certificate == cred.signCert)
        #expect(sig.label == "Certificat de Signature CPS")
        #expect(await cache.count == 2)
    }

    @Test("certificates are read once per card serial: a second session sends no SELECT of C001/C0A2")
    func certificateCache() async throws {
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand")
        let cache = CPSCertificateCache()
        _ = try await CPSSession.connect(reader, certificateCache: cache).readCertificates()
        let before = await reader.transcript.count
        let again = try await CPSSession.connect(reader, certificateCache: cache).readCertificates()
        #expect(again.count == 2)
        let commands = await reader.transcript.dropFirst(before).filter { $0.kind == .apdu }.map(\.command)
        #expect(!commands.contains { $0[1] == 0xA4 && [[0xC0, 0x01], [0xC0, 0xA2]].contains(Array($0.suffix(2))) })
        // Only the serial is read again (the layout comes from the cache); the card was left in DF 0001, so the first
        // READ BINARY by SFI finds no EF.SN.ICC there (6A 82) and the MF is selected.
        #expect(commands == [[0x00, 0xB0, 0x9C, 0x00, 0x0C], [0x00, 0xA4, 0x09, 0x0C, 0x02, 0x3F, 0x00], [0x00, 0xB0, 0x9C, 0x00, 0x0C]])
    }

    @Test("situations d'exercice: refused before the PIN without sending anything, read after it")
    func situations() async throws {
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand")
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        await #expect(throws: CPSError.pinRequired("the situations d'exercice")) { try await s.readSituations() }
        #expect(try await s.verify(pin: try #require(SecretPIN(testDigits: "1234"))) == .verified)
        let sit = try await s.readSituations()
        #expect(sit.count == 2)
        #expect(sit.first?.raisonSociale == "CENTRE HOSPITALIER SIMULE")
        #expect(sit.first?.idStruct == "750712184")
        #expect(sit.first?.modeExercice == "S")
        #expect(sit.last?.raisonSociale == "CABINET DR DURAND")
        #expect(sit.last?.secteurActivite == "SA07")
    }

    @Test("PSO CDS: a SHA-256 digest signed with key 81 verifies with the signature certificate")
    func signDocument() async throws {
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand")
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let digest = Digest.sha256(Array("ordonnance".utf8))
        await #expect(throws: CPSError.refused(StatusWord(0x6982), command: "PSO COMPUTE DIGITAL SIGNATURE")) {
            try await s.signDigest(sha256: digest)
        }
        #expect(try await s.verify(pin: try #require(SecretPIN(testDigits: "1234"))) == .verified)
        let sig = try await s.signDigest(sha256: digest)
        let cert = try Fixture.pki().credentials(forPersona: "cps3-durand").signCert
        #expect(try cert.publicKey().verifyPKCS1(signature: sig, digestInfo: DigestInfo.encode(.sha256, digest: digest)))
    }

    @Test("PIN change and unblock with the code de déblocage")
    func changeAndUnblock() async throws {
        let (reader, card) = try await Fixture.reader(.testCard, "cps3-moreau-pharmacist")
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let pin = { (d: String) throws -> SecretPIN in try #require(SecretPIN(testDigits: d)) }
        #expect(try await s.changePIN(current: pin("4321"), new: pin("5555")) == .verified)
        #expect(try await s.verify(pin: pin("5555")) == .verified)
        for expected in [2, 1] { #expect(try await s.verify(pin: pin("0000")) == .wrongPIN(triesLeft: expected)) }
        #expect(try await s.verify(pin: pin("0000")) == .blocked || card.os.pins[0x01]?.triesLeft == 0)
        #expect(try await s.pinStatus().triesLeft == 0)
        #expect(try await s.unblockPIN(puk: pin("87654321"), newPIN: pin("4321")) == .verified)
        #expect(try await s.pinStatus().triesLeft == 3)
        await #expect(throws: CPSError.invalidPINFormat("the code de déblocage has 8 digits")) {
            try await s.unblockPIN(puk: pin("1234"), newPIN: pin("4321"))
        }
    }

    @Test("contactless: the CL application, the technical certificate only, no PIN")
    func contactlessRead() async throws {
        let (reader, _) = try await Fixture.reader(.testCard, "cps3-durand", configuration: .contactless())
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let r = try await s.read()
        #expect(r.interface == .contactless)
        #expect(r.pinTriesLeft == nil)
        #expect(r.certificates.map(\.usage) == [.technical])
        #expect(r.holder.rpps == "99700412345")
        #expect(r.holder.nomExercice == "DURAND")
        await #expect(throws: CPSError.contactOnly("the PIN")) { try await s.pinStatus() }
    }
}

@Suite("Every professional persona reads back field for field from the simulator's CPS3 (issue 10)")
struct CPSPersonaReadTests {
    static let personas = ["cps3-durand", "cps3-moreau-pharmacist", "cpe-girard", "cps3-roux-revoked",
        "cps3-blanc-expired", "cps3-fabre-last-try"]

    @Test(arguments: personas)
    func readBack(persona id: String) async throws {
        let p = try #require(try PersonaFile.bundled().professionals.first { $0.id == id })
        let (reader, _) = try await Fixture.reader(.simulator, id)
        let s = try await CPSSession.connect(reader, certificateCache: CPSCertificateCache())
        let r = try await s.read()
        #expect(r.interface == .contact)
        #expect(r.serial?.digits == p.serialDigits)
        #expect(r.pinTriesLeft == p.pinTriesLeft)
        #expect(r.holder.cardType?.rawValue == p.cardType)
        #expect(r.holder.idNatType == p.idNatType)
        #expect(r.holder.rpps == p.rpps)
        #expect(r.holder.idNat == (p.idNat ?? "\(p.idNatType)\(p.rpps ?? "")"))
        #expect(r.holder.civilite == p.civilite)
        #expect(r.holder.nomExercice == p.nomExercice)
        #expect(r.holder.prenomExercice == p.prenomExercice)
        #expect((r.holder.profession ?? "") == p.profession)
        #expect(r.holder.specialite == p.specialite)
        let cred = try Fixture.pki().credentials(forPersona: id)
        #expect(r.certificates.first { $0.usage == .authentication }?.certificate == cred.authCert)
        #expect(r.certificates.first { $0.usage == .signature }?.certificate == cred.signCert)
        // Situations: only after the PIN.
        await #expect(throws: CPSError.pinRequired("the situations d'exercice")) { try await s.readSituations() }
        if p.pinTriesLeft > 1 {
            var digits = p.pin.asciiBytes
            #expect(try await s.verify(pin: try #require(SecretPIN(consuming: &digits))) == .verified)
            let sit = try await s.readSituations()
            #expect(sit.map(\.raisonSociale) == p.situations.map(\.raisonSociale))
            #expect(sit.map(\.idStruct) == p.situations.map(\.idStruct))
        }
    }
}

@Suite("SecretPIN never shows its digits")
struct SecretPINTests {
    @Test func masked() throws {
        let p = try #require(SecretPIN(testDigits: "1234"))
        #expect(p.description == "SecretPIN(****)")
        #expect(String(describing: p) == "SecretPIN(****)")
        #expect(String(reflecting: p) == "SecretPIN(****)")
        #expect(Mirror(reflecting: p).children.isEmpty)
        #expect("\([p])".contains("1234") == false)
    }

    @Test func consumingWipesTheSource() {
        var b: [UInt8] = Array("2468\n".utf8)
        let p = SecretPIN(consuming: &b)
        #expect(p?.count == 4)
        #expect(b == [0, 0, 0, 0, 0])
        var bad: [UInt8] = Array("12a4".utf8)
        #expect(SecretPIN(consuming: &bad) == nil)
        #expect(bad == [0, 0, 0, 0])
    }
}

@Suite("APDU economy of a full CPS read")
struct CPSAPDUCountTests {
    @Test("a first full read of a contact CPS3 (T=0) takes exactly 38 APDUs (41 before P2=0C, Le=00 chunks); the same card again exactly 11")
    func fullReadCommands() async throws {
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let cache = CPSCertificateCache()
        _ = try await CPSSession.connect(reader, certificateCache: cache).read()
        let firstCommands = await reader.transcript.filter { $0.kind == .apdu }.map(\.command)
        let first = firstCommands.count
        #expect(first == 38, "\(firstCommands.map { $0.hexString(separator: " ") })")
        // No SELECT asks for the FCP: P2 = 0C everywhere.
        #expect(!firstCommands.contains { $0[1] == 0xA4 && $0[3] != 0x0C })
        _ = try await CPSSession.connect(reader, certificateCache: cache).read()
        let cmds = await reader.transcript.filter { $0.kind == .apdu }.dropFirst(first).map(\.command)
        #expect(cmds.count == 11, "\(cmds.map { $0.hexString(separator: " ") })")
        // Nothing of the second read selects the PKCS#15 directories or a certificate again.
        #expect(!cmds.contains { $0[1] == 0xA4 && [[0xC0, 0x01], [0xC0, 0x02], [0x50, 0x31], [0x44, 0x02], [0x44, 0x04]].contains(Array($0.suffix(2))) })
        #expect(!cmds.contains { $0.count > 2 && $0[1] == 0xB0 && $0[2] == 0x9E })
    }
}

@Suite("A PIN never reaches an APDU transcript")
struct PINTranscriptTests {
    @Test func verifyBypassesTheTranscriptHook() async throws {
        let (reader, _) = try await Fixture.reader(.simulator, "cps3-durand")
        let transcript = APDUTranscript()
        let channel = try await APDUChannel.connect(reader, transcript: transcript.hook)
        let s = CPSSession(channel: channel, certificateCache: CPSCertificateCache())
        _ = try await s.pinStatus()
        #expect(try await s.verify(pin: try #require(SecretPIN(testDigits: "1234"))) == .verified)
        #expect(!transcript.commands.contains { $0.count > 4 && $0[1] == 0x20 })
        #expect(!transcript.commands.contains { c in c.indices.dropLast(3).contains { Array(c[$0..<$0 + 4]) == [0x31, 0x32, 0x33, 0x34] } })
        #expect(transcript.commandCount >= 2)
        // And the simulated reader masks the PIN bytes of its own transcript.
        let verify = await reader.transcript.last { $0.command.count > 4 && $0.command[1] == 0x20 }
        #expect(verify?.command == [0x00, 0x20, 0x00, 0x01, 0x04, 0x2A, 0x2A, 0x2A, 0x2A])
    }
}
