import Foundation
import ISO7816
import Testing
@testable import CardSimulator

@Suite struct PersonaModelTests {
    @Test func everySectionDecodes() throws {
        let f = try PersonaCatalog.personas()
        #expect(f.patients.count == 8)
        #expect(f.professionals.count == 6)
        #expect(f.badges.count == 2)
        let family = try #require(f.patients.first { $0.id == "vitale2-bernard-family" })
        #expect(family.beneficiaries.count == 4)
        #expect(family.beneficiaries[1].nirCertifie == "274051305501264")
        #expect(family.beneficiaries[1].dateCertification == "20150610")
        #expect(family.beneficiaries[3].nirCertifie == nil)
        #expect(family.insured.centre == "0231")
        let v1 = try #require(f.patients.first { $0.card == "vitale1" })
        #expect(v1.validityStart == nil)
        #expect(v1.beneficiaries[0].amo == [RightsPeriod(start: "240101", end: "991231")])
        let durand = try #require(f.professionals.first { $0.id == "cps3-durand" })
        #expect(durand.interfaces == ["contact", "contactless"])
        #expect(durand.situations.count == 2)
        #expect(durand.situations[0].idStructType == 1)
        #expect(durand.pin.asciiBytes == Array("1234".utf8))
        #expect(durand.puk.count == 8)
        let cpe = try #require(f.professionals.first { $0.id == "cpe-girard" })
        #expect(cpe.rpps == nil)
        #expect(cpe.idNat == "3750712184/GIRARD0042")
        #expect(f.professionals.first { $0.id == "cps3-roux-revoked" }?.certificates.reason == "keyCompromise")
        #expect(f.professionals.first { $0.id == "cps3-fabre-last-try" }?.pinTriesLeft == 1)
        let badge = try #require(f.badges.first { $0.id == "desfire-durand" })
        #expect(hx(badge.uidBytes) == "04 5A 3C 12 B2 6E 80")
        #expect(badge.application?.content.badgeNumber == "B-000417")
        #expect(badge.application?.keyNumber == 1)
        #expect(f.badges[1].application == nil)
        #expect(f.site.desfireMasterKeyAES128.count == 32)
        #expect(f.testPKI.intermediate.hasPrefix("CN=SIMU AC IGC-SANTE FORT PERSONNES"))
    }

    @Test func secretsAndNIRsAreNeverPrinted() throws {
        let f = try PersonaCatalog.personas()
        let durand = try #require(f.professionals.first { $0.id == "cps3-durand" })
        #expect(durand.pin.description == "****")
        #expect(String(reflecting: durand.pin) == "****")
        #expect(!String(describing: durand).contains("1234"))
        #expect(KeypadEntry.typed("1234").description == "digits(4 keys)")
        #expect(!String(describing: f.site).contains("0011223344"))
        #expect(f.patients[0].description == "patient vitale2-martin (vitale2, NIR 2************83)")
        #expect(maskedNIR("279047511203483") == "2************83")
        var dumped = ""
        dump(PINObject(reference: 1, value: Array("8642".utf8)), to: &dumped)
        #expect(!dumped.contains("56") && !dumped.contains("8642"))
        #expect(dumped.contains("triesLeft"))
    }

    @Test func malformedJSONIsAClearError() {
        #expect(throws: PersonaCatalog.CatalogError.self) { try PersonaFile.decode(Data("{\"patients\": 3}".utf8)) }
    }
}

@Suite struct PersonaCatalogTests {
    @Test func idsInFixtureOrder() throws {
        let ids = try PersonaCatalog.personaIDs()
        #expect(ids.count == 16)
        #expect(ids.first == "vitale2-martin")
        #expect(ids.last == "uid-visitor")
    }

    @Test func everyPersonaBuildsACardWithAParsableATR() throws {
        for id in try PersonaCatalog.personaIDs() {
            let card = try PersonaCatalog.makeCard(persona: id)
            #expect(ATRInfo(card.atr) != nil, "ATR of \(id)")
            #expect(card.process([0x00]).count >= 2)
        }
    }

    @Test func profilesNotYetRegisteredAnswerSixDZeroWithTheRightATR() throws {
        let cps = try PersonaCatalog.makeCard(persona: "cps3-durand")
        #expect(hx(cps.atr) == "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00")
        // CPS personas now have their profile (CPS3Card.swift): the T=0 card answers the FCI through 61 xx.
        #expect(hx(cps.process(h("00 A4 00 00 02 3F 00"))) == "61 2A")
        let badge = try PersonaCatalog.makeCard(persona: "desfire-durand")
        #expect(hx(badge.atr) == "3B 81 80 01 80 80")
        #expect((badge as? any ContactlessCapableCard)?.contactless?.uid == h("04 5A 3C 12 B2 6E 80"))
    }

    @Test func realProfilesForVitalePersonas() throws {
        #expect(try PersonaCatalog.makeCard(persona: "vitale2-martin") is OSCard)
        #expect(try PersonaCatalog.makeCard(persona: "vitale1-lefebvre") is Vitale1Card)
    }

    @Test func unknownPersonaIsReported() {
        #expect(throws: PersonaCatalog.CatalogError.unknownPersona("nobody")) {
            try PersonaCatalog.makeCard(persona: "nobody")
        }
    }

    @Test func registeringAProfileIsOneLine() throws {
        CardProfiles.register("iso14443a-uid") { p, _ in
            guard case .badge(let b) = p else { return nil }
            return MuteApplicationCard(atr: b.atrBytes, contactless: ContactlessInterface(uid: [0x01], historicalBytes: []))
        }
        defer { CardProfiles.unregister("iso14443a-uid") }
        let c = try PersonaCatalog.makeCard(persona: "uid-visitor")
        #expect((c as? any ContactlessCapableCard)?.contactless?.uid == [0x01])
    }
}
