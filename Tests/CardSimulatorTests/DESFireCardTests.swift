import Testing
import ISO7816
@testable import CardSimulator

private func hex(_ s: String) -> [UInt8] { [UInt8](hex: s) ?? [0xDE, 0xAD] }

/// RndB = F0 F1 … FF, so the card's answers are exact bytes.
private func fixedRndB(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(0xF0 + $0 % 16) } }

private func durand() throws -> DESFireCard {
    let card = try DESFireCard.bundledPersona("desfire-durand", random: fixedRndB)
    card.powerOn()
    return card
}

/// Exact bytes of the simulated DESFire EV1 badge (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7.3, §7.4).
/// Expected cryptograms were computed independently (Python `cryptography`, AES-CBC and RFC 4493 CMAC) from
/// persona `desfire-durand`: key 1 = AN10922(00112233…EEFF, 04 5A 3C 12 B2 6E 80 ‖ F5 43 41 ‖ "CARTE-SITE")
/// = 47 E7 89 6E AB C2 DF B5 4C 72 C3 9B EF 20 23 D6, RndA = 00…0F, RndB = F0…FF.
@Suite struct DESFireCardTests {
    @Test func personaATRAndUID() throws {
        let card = try durand()
        #expect(card.atr == hex("3B 81 80 01 80 80"))
        #expect(card.uid == hex("04 5A 3C 12 B2 6E 80"))
        #expect(card.applications.map(\.aid) == [hex("F5 43 41")])
        #expect(card.applications[0].keys[1] == hex("47 E7 89 6E AB C2 DF B5 4C 72 C3 9B EF 20 23 D6"))
        #expect(card.applications[0].keys[0] == hex("A4 E3 41 99 A5 59 C2 07 83 4C 2C F1 8C 64 22 02"))
    }

    @Test func getVersionInThreeFrames() throws {
        let card = try durand()
        #expect(card.process(hex("90 60 00 00 00")) == hex("04 01 01 01 00 18 05 91 AF"))
        #expect(card.process(hex("90 AF 00 00 00")) == hex("04 01 01 01 04 18 05 91 AF"))
        #expect(
            card.process(hex("90 AF 00 00 00"))
                == hex("04 5A 3C 12 B2 6E 80 BA 7C 00 04 17 12 24 91 00"))
        // The chain is over: another AF is an illegal command.
        #expect(card.process(hex("90 AF 00 00 00")) == hex("91 1C"))
    }

    @Test func getVersionWithoutLe() throws {
        let card = try durand()
        #expect(card.process(hex("90 60 00 00")) == hex("04 01 01 01 00 18 05 91 AF"))
    }

    @Test func foreignCommandMidChainAnswers1C() throws {
        let card = try durand()
        #expect(card.process(hex("90 60 00 00 00")) == hex("04 01 01 01 00 18 05 91 AF"))
        #expect(card.process(hex("90 6A 00 00 00")) == hex("91 1C"))
        #expect(card.process(hex("90 AF 00 00 00")) == hex("91 1C"))
        // A fresh GetVersion works again.
        #expect(card.process(hex("90 60 00 00 00")) == hex("04 01 01 01 00 18 05 91 AF"))
    }

    @Test func getApplicationIDs() throws {
        let card = try durand()
        #expect(card.process(hex("90 6A 00 00 00")) == hex("F5 43 41 91 00"))
    }

    @Test func selectApplication() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(card.process(hex("90 5A 00 00 03 01 02 03 00")) == hex("91 A0"))
        #expect(card.process(hex("90 5A 00 00 02 F5 43 00")) == hex("91 7E"))
        #expect(card.process(hex("90 5A 00 00 03 00 00 00 00")) == hex("91 00"))
    }

    @Test func authenticateAESExactBytesThenMACedReadData() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(
            card.process(hex("90 AA 00 00 01 01 00"))
                == hex("EA B0 52 49 D3 3A 57 76 F9 63 1B BB E1 A0 1B AC 91 AF"))
        let token = hex(
            "AE D2 17 9F 24 98 6C C0 45 23 51 82 B0 80 7B 21 9C C0 02 48 DA 13 5C 86 6C 71 8A 7C E2 9D 86 5F")
        #expect(
            card.process([0x90, 0xAF, 0x00, 0x00, 0x20] + token + [0x00])
                == hex("FB 61 BF 2C 40 92 A6 ED 8D C9 5F F7 2B FC 09 27 91 00"))
        // Session key 00 01 02 03 F0 F1 F2 F3 0C 0D 0E 0F FC FD FE FF; IV after the command CMAC of
        // BD 01 000000 000000 = E9 FB 0A E1 …; answer CMAC over the 64 file bytes ‖ 00 = B4 FD 3B 8F FB 78 AF 83 ….
        let frame1 = card.process(hex("90 BD 00 00 07 01 00 00 00 00 00 00 00"))
        #expect(
            frame1
                == hex("01 01 08") + Array("B-000417".utf8) + hex("02 0B") + Array("cps3-durand".utf8)
                + [UInt8](repeating: 0, count: 59 - 24) + hex("91 AF"))
        #expect(card.process(hex("90 AF 00 00 00")) == hex("00 00 00 00 00 B4 FD 3B 8F FB 78 AF 83 91 00"))
    }

    @Test func readDataBeforeAuthenticationIsPermissionDenied() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(card.process(hex("90 BD 00 00 07 01 00 00 00 00 00 00 00")) == hex("91 9D"))
    }

    @Test func readDataErrors() throws {
        let card = try durand()
        // PICC level: no file.
        #expect(card.process(hex("90 BD 00 00 07 01 00 00 00 00 00 00 00")) == hex("91 F0"))
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(card.process(hex("90 BD 00 00 07 05 00 00 00 00 00 00 00")) == hex("91 F0"))
        #expect(card.process(hex("90 BD 00 00 06 01 00 00 00 00 00 00")) == hex("91 7E"))
    }

    @Test func wrongKeyNumberAnswers40() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(card.process(hex("90 AA 00 00 01 02 00")) == hex("91 40"))
        #expect(card.process(hex("90 AA 00 00 01 0D 00")) == hex("91 40"))
        // PICC level: key 0 is a DES key (AES authentication fails), other numbers do not exist.
        #expect(card.process(hex("90 5A 00 00 03 00 00 00 00")) == hex("91 00"))
        #expect(card.process(hex("90 AA 00 00 01 00 00")) == hex("91 AE"))
        #expect(card.process(hex("90 AA 00 00 01 01 00")) == hex("91 40"))
    }

    @Test func wrongTokenAnswersAE() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        #expect(card.process(hex("90 AA 00 00 01 01 00")).suffix(2) == hex("91 AF"))
        // A host with the wrong key cannot produce RndB′.
        #expect(card.process([0x90, 0xAF, 0x00, 0x00, 0x20] + [UInt8](repeating: 0x11, count: 32) + [0x00]) == hex("91 AE"))
        // Not authenticated afterwards.
        #expect(card.process(hex("90 BD 00 00 07 01 00 00 00 00 00 00 00")) == hex("91 9D"))
        // A token of the wrong length is a length error.
        #expect(card.process(hex("90 AA 00 00 01 01 00")).suffix(2) == hex("91 AF"))
        #expect(card.process(hex("90 AF 00 00 02 00 00 00")) == hex("91 7E"))
    }

    @Test func isoLevelRefusals() throws {
        let card = try durand()
        #expect(card.process(hex("00 A4 04 00 07 D2 76 00 00 85 01 00 00")) == hex("6E 00"))
        #expect(card.process(hex("90 60 01 00 00")) == hex("6A 86"))
        #expect(card.process(hex("90 60 00")) == hex("67 00"))
        #expect(card.process(hex("90 5A 00 00 05 F5 43")) == hex("67 00"))
        #expect(card.process(hex("90 C4 00 00 00")) == hex("91 1C"))
        #expect(card.process(hex("90 AF 00 00 00")) == hex("91 1C"))
    }

    @Test func resetEndsTheSession() throws {
        let card = try durand()
        #expect(card.process(hex("90 5A 00 00 03 F5 43 41 00")) == hex("91 00"))
        card.reset()
        // Back at PICC level.
        #expect(card.process(hex("90 BD 00 00 07 01 00 00 00 00 00 00 00")) == hex("91 F0"))
    }

    @Test func badgeFileLayout() {
        let content = DESFireCard.badgeFileContent(badgeNumber: "B-000417", holder: "cps3-durand")
        #expect(content?.count == 64)
        #expect(content?.prefix(5) == hex("01 01 08 42 2D")[...])
        #expect(DESFireCard.badgeFileContent(badgeNumber: String(repeating: "x", count: 60), holder: "h") == nil)
    }

    @Test func personaErrorsAreTyped() throws {
        let good = try #require(try PersonaCatalog.personas().badges.first { $0.id == "desfire-durand" })
        let key = [UInt8](repeating: 0, count: 16)
        var b = good
        b.uid = "04 5A"
        #expect(throws: DESFireCard.PersonaError.badValue(field: "uid", value: "04 5A")) {
            try DESFireCard(persona: b, siteMasterKey: key)
        }
        b = good
        b.application = nil
        #expect(throws: DESFireCard.PersonaError.missingField("application")) {
            try DESFireCard(persona: b, siteMasterKey: key)
        }
        b = good
        b.application?.keyType = "DES"
        #expect(throws: DESFireCard.PersonaError.badValue(field: "keyType", value: "DES")) {
            try DESFireCard(persona: b, siteMasterKey: key)
        }
        #expect(throws: DESFireCard.PersonaError.badValue(field: "desfireMasterKeyAES128", value: "2 bytes, 16 expected")) {
            try DESFireCard(persona: good, siteMasterKey: [1, 2])
        }
        #expect(throws: DESFireCard.PersonaError.missingField("badges[nobody]")) { try DESFireCard.bundledPersona("nobody") }
    }

    /// The catalogue builds the registered profiles, and the contactless reader shows them as PC/SC part 3 cards.
    @Test func catalogueBuildsTheBadges() throws {
        let d = try PersonaCatalog.makeCard(persona: "desfire-durand", interface: .contactless)
        let desfire = try #require(d as? DESFireCard)
        #expect(desfire.contactless == ContactlessInterface(uid: hex("04 5A 3C 12 B2 6E 80"), historicalBytes: [0x80]))
        #expect(!desfire.hasContactInterface)
        #expect(ATRInfo.contactlessATR(historicalBytes: [0x80]) == hex("3B 81 80 01 80 80"))
        // Through the built-in table directly: another suite re-registers "iso14443a-uid" at run time.
        let ctx = CardBuildContext(personas: try PersonaCatalog.personas(), interface: .contactless)
        let build = try #require(CardProfiles.builtIn["iso14443a-uid"])
        let visitor = try #require(build(try PersonaCatalog.persona("uid-visitor"), ctx) as? UIDOnlyCard)
        #expect(visitor.contactless?.uid == hex("A1 B2 C3 D4"))
        #expect(
            ATRInfo.contactlessATR(historicalBytes: visitor.contactless?.historicalBytes ?? [])
                == hex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A"))
    }

    @Test func randomAndMutatedCommandsNeverCrash() throws {
        let card = try DESFireCard.bundledPersona("desfire-durand")
        card.powerOn()
        var seed: UInt64 = 0x5EED_BAD6E
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let seeds: [[UInt8]] = [
            hex("90 60 00 00 00"), hex("90 AF 00 00 00"), hex("90 5A 00 00 03 F5 43 41 00"),
            hex("90 AA 00 00 01 01 00"), hex("90 BD 00 00 07 01 00 00 00 00 00 00 00"),
        ]
        for i in 0..<5000 {
            var c: [UInt8]
            if i % 2 == 0 {
                c = seeds[Int(next() % UInt64(seeds.count))]
                if !c.isEmpty { c[Int(next() % UInt64(c.count))] = UInt8(next() & 0xFF) }
            } else {
                c = (0..<Int(next() % 48)).map { _ in UInt8(next() & 0xFF) }
                if c.count > 1, next() % 2 == 0 { c[0] = 0x90 }
            }
            let r = card.process(c)
            #expect(r.count >= 2)
        }
    }
}

@Suite struct UIDOnlyCardTests {
    @Test func personaAndAnswers() throws {
        let persona = try #require(try PersonaCatalog.personas().badges.first { $0.id == "uid-visitor" })
        let card = try UIDOnlyCard(persona: persona)
        #expect(card.uid == hex("A1 B2 C3 D4"))
        #expect(card.atr == hex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A"))
        #expect(card.process(hex("90 60 00 00 00")) == hex("6E 00"))
        #expect(card.process(hex("00 A4 04 00 00")) == hex("6E 00"))
        #expect(card.process(hex("FF B0 00 04 10")) == hex("6D 00"))
        #expect(card.process(hex("FF")) == hex("67 00"))
        var bad = persona
        bad.uid = "A1 B2 C3"
        #expect(throws: UIDOnlyCard.PersonaError.badValue(field: "uid", value: "A1 B2 C3")) {
            try UIDOnlyCard(persona: bad)
        }
    }
}
