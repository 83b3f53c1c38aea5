import ISO7816
import Testing
@testable import CardSimulator

/// The Vitale 2 profile against the exact sequences of vitale.md §5.1 (cardpeek) and §5.2 (RufusAdmin).
@Suite struct Vitale2ProfileTests {
    static let pointersExample = """
        E0 81 89 A0 25 82 12 00 01 00 00 D2 50 00 00 02
        4D 46 5F 56 49 54 41 4C 45 82 0F 00 02 00 00 D2
        50 00 00 02 56 49 54 41 4C 45 80 0C 49 44 45 4E
        54 20 20 20 00 01 20 02 80 0C 42 45 4E 45 46 20
        20 20 00 02 20 02 80 0C 43 41 52 54 45 20 20 20
        00 02 20 03 80 0C 41 4D 4F 20 20 20 20 20 00 02
        20 04 80 0C 41 4D 43 20 20 20 20 20 00 02 20 05
        80 0C 43 45 52 54 20 20 20 20 00 02 20 06 80 0C
        50 48 4F 54 4F 20 20 20 00 02 20 07
        """
    static let martinIdent = "65 1A 80 06 4D 41 52 54 49 4E 81 06 43 4C 41 49 52 45 82 08 31 39 37 39 30 34 31 32"
    static let martinBenef = "65 18 93 0F 32 37 39 30 34 37 35 31 31 32 30 33 34 38 33 84 01 31 85 02 30 30"
    static let mfFCI = "6F 1A 82 01 38 83 02 3F 00 84 0E D2 50 00 00 02 4D 46 5F 56 49 54 41 4C 45 8A 01 05"
    static let vitaleFCI = "6F 17 82 01 38 83 02 20 00 84 0B D2 50 00 00 02 56 49 54 41 4C 45 8A 01 05"

    func martin(_ mode: T0Mode = .auto, layout: Vitale2Profile.Layout = .init()) throws -> OSCard {
        let f = try PersonaCatalog.personas()
        let p = try #require(f.patients.first { $0.id == "vitale2-martin" })
        return Vitale2Profile.makeCard(persona: p, layout: layout, t0Mode: mode)
    }

    func padded(_ hexTemplates: String, to size: Int = 240) -> String {
        let b = h(hexTemplates)
        return hx(b + [UInt8](repeating: 0, count: size - b.count))
    }

    @Test func pointersFileIsTheSpecExampleByteForByte() {
        let p = Vitale2Profile.pointersContent(.init())
        #expect(p.count == 140)
        #expect(hx(p) == hx(h(Self.pointersExample)))
    }

    @Test func atrIsThePersonaATR() throws {
        #expect(hx(try martin().atr) == "3B 75 13 00 00 47 09 EA 90 00")
    }

    @Test func cardpeekDiscoveryFirstStepsExactBytes() throws {
        for le in ["", " 00"] {
            let card = try martin()
            #expect(hx(card.process(h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45" + le))) == Self.vitaleFCI + " 90 00")
            #expect(hx(card.process(h("00 A4 02 00 02 20 01" + le)))
                == "6F 11 80 02 00 8C 82 01 01 83 02 20 01 88 01 08 8A 01 05 90 00")
            #expect(hx(card.process(h("00 B0 00 00 00"))) == hx(h(Self.pointersExample)) + " 90 00")
        }
    }

    /// cardpeek `vitale_2.lua`: parse POINTERS, select each application by AID and each file by FID, read in
    /// 256-byte chunks until a short answer.
    func cardpeekWalk(_ card: any VirtualCard) -> [String: (sw: String, content: [UInt8])] {
        func send(_ b: [UInt8]) -> (data: [UInt8], sw: String) {
            let r = card.process(b)
            return (Array(r.dropLast(2)), hx(Array(r.suffix(2))))
        }
        _ = send(h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45 00"))
        _ = send(h("00 A4 02 00 02 20 01 00"))
        let pointers = send(h("00 B0 00 00 00")).data
        guard let outer = tlvObjects(pointers), let e0 = outer.first, e0.tag == 0xE0,
            let inner = tlvObjects(e0.value)
        else { return [:] }
        var apps: [UInt16: [UInt8]] = [:]
        var files: [(String, UInt16, UInt16)] = []
        for o in inner {
            let (tag, v) = (o.tag, o.value)
            if tag == 0xA0, let list = tlvObjects(v) {
                for (t, e) in list.map({ ($0.tag, $0.value) }) where t == 0x82 && e.count > 4 {
                    apps[UInt16(e[0]) << 8 | UInt16(e[1])] = Array(e[4...])
                }
            } else if tag == 0x80, v.count == 12 {
                let label = String(decoding: v[0..<8], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                files.append((label, UInt16(v[8]) << 8 | UInt16(v[9]), UInt16(v[10]) << 8 | UInt16(v[11])))
            }
        }
        var out: [String: (String, [UInt8])] = [:]
        for (eid, aid) in apps.sorted(by: { $0.key < $1.key }) {
            let sel = send([0x00, 0xA4, 0x04, 0x00, UInt8(aid.count)] + aid + [0x00])
            out["app\(eid)"] = (sel.sw, sel.data)
            for (label, owner, fid) in files where owner == eid {
                let s = send([0x00, 0xA4, 0x02, 0x00, 0x02, UInt8(fid >> 8), UInt8(fid & 0xFF), 0x00])
                guard s.sw == "90 00" else { out[label] = (s.sw, []); continue }
                var content: [UInt8] = []
                var offset = 0
                var sw = "90 00"
                while true {
                    let r = send([0x00, 0xB0, UInt8(offset >> 8), UInt8(offset & 0xFF), 0x00])
                    sw = r.sw
                    guard sw == "90 00" else { break }
                    content += r.data
                    if r.data.count < 256 { break }
                    offset += 256
                }
                out[label] = (sw, content)
            }
        }
        return out
    }

    @Test func cardpeekDiscoveryWalksEveryAnnouncedFile() throws {
        let result = cardpeekWalk(try martin())
        #expect(result["app1"]?.sw == "90 00")
        #expect(hx(result["app1"]?.content ?? []) == Self.mfFCI)
        #expect(result["app2"]?.sw == "90 00")
        #expect(hx(result["IDENT"]?.content ?? []) == padded(Self.martinIdent))
        #expect(hx(result["BENEF"]?.content ?? []) == padded(Self.martinBenef))
        #expect(hx(result["CARTE"]?.content.prefix(38).map { $0 } ?? []) == "66 1F 80 08 32 30 32 31 30 33 31 35 82 01 32 83 10 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 00 00 00 00 00")
        #expect(result["AMO"]?.content.prefix(2).map { $0 } == [0x67, 0x13])
        #expect(result["CERT"]?.content.prefix(2).map { $0 } == [0x7F, 0x21])
        #expect(result["AMC"]?.sw == "90 00")
        #expect(result["PHOTO"]?.sw == "69 82")
    }

    @Test func amoHoldsOrganismAndRightsPeriods() throws {
        let card = try martin()
        _ = card.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        let r = card.process(h("00 B0 84 00 30"))
        #expect(hx(r) == """
            67 13 80 02 30 31 81 03 37 35 31 82 04 30 30 31 32 83 02 31 30 \
            68 19 80 01 01 A0 14 80 08 32 30 32 34 30 31 30 31 81 08 32 30 39 39 31 32 33 31 \
            90 00
            """)
    }

    @Test func rufusAdminSequenceExactBytes() throws {
        let card = try martin()
        #expect(hx(card.process(h("00 A4 00 00 02 3F 00"))) == Self.mfFCI + " 90 00")
        #expect(hx(card.process(h("00 B0 82 00 00"))) == padded(Self.martinIdent) + " 90 00")
        #expect(hx(card.process(h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45"))) == Self.vitaleFCI + " 90 00")
        #expect(hx(card.process(h("00 B0 82 00 00"))) == padded(Self.martinBenef) + " 90 00")
    }

    @Test func rufusAdminSequenceInStrictT0WithItsRetries() throws {
        let card = try martin(.strictT0)
        #expect(hx(card.process(h("00 A4 00 00 02 3F 00"))) == "61 1C")
        #expect(hx(card.process(h("00 C0 00 00 1C"))) == Self.mfFCI + " 90 00")
        #expect(hx(card.process(h("00 B0 82 00 00"))) == "6C F0")
        #expect(hx(card.process(h("00 B0 82 00 F0"))) == padded(Self.martinIdent) + " 90 00")
        #expect(hx(card.process(h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45"))) == "61 19")
        #expect(hx(card.process(h("00 C0 00 00 19"))) == Self.vitaleFCI + " 90 00")
        #expect(hx(card.process(h("00 B0 82 00 F0"))) == padded(Self.martinBenef) + " 90 00")
    }

    @Test func familyBenefTemplatesCarryNIRCertifieAndPatronymicName() throws {
        let card = try PersonaCatalog.makeCard(persona: "vitale2-bernard-family")
        _ = card.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        let r = card.process(h("00 B0 82 00 00"))
        let templates = try #require(tlvObjects(Array(r.dropLast(2))))
        #expect(templates.count == 4)
        let sophie = try #require(tlvObjects(templates[1].value))
        #expect(sophie.map(\.tag) == [0x93, 0x84, 0x85, 0x86, 0x87, 0x88])
        #expect(String(decoding: sophie[0].value, as: UTF8.self) == "171096912304538")
        #expect(String(decoding: sophie[3].value, as: UTF8.self) == "274051305501264")
        #expect(String(decoding: sophie[5].value, as: UTF8.self) == "GARNIER")
        let lucas = try #require(tlvObjects(templates[3].value))
        #expect(lucas.map(\.tag) == [0x93, 0x84, 0x85])
        #expect(templates.allSatisfy { $0.value.count < 128 })
    }

    @Test func protectedPhotoOpensWithTheCPSSessionFlag() throws {
        let card = try martin()
        _ = card.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        #expect(hx(card.process(h("00 B0 87 00 04"))) == "69 82")
        card.os.enabledFlags.insert(Vitale2Profile.cpsSessionFlag)
        #expect(hx(card.process(h("00 B0 87 00 04"))) == "A5 A5 A5 A5 90 00")
    }

    @Test func adeleSelectsButRefusesEverythingElse() throws {
        let card = try martin()
        #expect(hx(card.process(h("00 A4 04 0C 0C D2 50 00 00 04 41 64 E8 6C 65 01 01"))) == "90 00")
        #expect(hx(card.process(h("00 B0 81 00 00"))) == "69 82")
        #expect(hx(card.process(h("00 84 00 00 08"))) == "69 82")
        #expect(hx(card.process(h("00 A4 00 0C 02 3F 00"))) == "90 00")
    }

    @Test func classBCAndUnknownINSAreRefused() throws {
        let card = try martin()
        #expect(hx(card.process(h("BC C0 00 00 08"))) == "6E 00")
        #expect(hx(card.process(h("00 0E 00 00"))) == "6D 00")
    }

    @Test func movedFileIsFoundThroughPointers() throws {
        var layout = Vitale2Profile.Layout()
        layout.carte = .init(fid: 0x2013, sfi: 0x0D)
        let card = try martin(layout: layout)
        let result = cardpeekWalk(card)
        #expect(result["CARTE"]?.sw == "90 00")
        #expect(result["CARTE"]?.content.first == 0x66)
        _ = card.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        #expect(hx(card.process(h("00 A4 02 0C 02 20 03"))) == "6A 82")
        #expect(hx(card.process(h("00 B0 8D 00 01"))) == "66 90 00")
    }

    @Test func longFormOptionBreaksOneByteLengthParsers() throws {
        var layout = Vitale2Profile.Layout()
        layout.forceLongFormLengths = true
        let card = try martin(layout: layout)
        let r = card.process(h("00 B0 82 00 04"))
        #expect(hx(r) == "65 81 1A 80 90 00")
    }

    @Test func testCardPersonaCarriesCaisse349() throws {
        let card = try PersonaCatalog.makeCard(persona: "vitale2-test-card")
        #expect(hx(card.atr) == "3B 75 13 00 00 46 09 EA 90 00")
        _ = card.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        let r = card.process(h("00 B0 84 00 15"))
        #expect(hx(r) == "67 13 80 02 30 31 81 03 33 34 39 82 04 30 30 30 31 83 02 31 30 90 00")
    }

    @Test func dirAndPanFilesOfMF() throws {
        let card = try martin()
        #expect(hx(card.process(h("00 A4 02 0C 02 2F 02"))) == "90 00")
        #expect(hx(card.process(h("00 B0 00 00 0A"))) == "5A 08 12 34 56 78 90 12 34 56 90 00")
        #expect(hx(card.process(h("00 A4 02 0C 02 2F 00"))) == "90 00")
        #expect(hx(card.process(h("00 B0 00 00 00"))) == """
            61 15 4F 0B D2 50 00 00 02 56 49 54 41 4C 45 50 06 56 49 54 41 4C 45 \
            61 15 4F 0C D2 50 00 00 04 41 64 E8 6C 65 01 01 50 05 41 64 E8 6C 65 90 00
            """)
    }
}

@Suite struct Vitale2AllPersonasTests {
    /// RufusAdmin's reading (§5.2) on every Vitale 2 persona: identities and NIR templates pair up by index, every
    /// template stays under 128 bytes, and the stored values are the raw persona values (lunar dates, 2A NIR).
    @Test func rufusAdminReadsEveryVitale2Persona() throws {
        let f = try PersonaCatalog.personas()
        for p in f.patients where p.card == "vitale2" {
            let card = try PersonaCatalog.makeCard(persona: p.id)
            #expect(card.process(h("00 A4 00 00 02 3F 00")).suffix(2) == [0x90, 0x00])
            let ident = try #require(tlvObjects(Array(card.process(h("00 B0 82 00 00")).dropLast(2))))
            _ = card.process(h("00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45"))
            let benef = try #require(tlvObjects(Array(card.process(h("00 B0 82 00 00")).dropLast(2))))
            #expect(ident.count == p.beneficiaries.count, "\(p.id)")
            #expect(benef.count == p.beneficiaries.count, "\(p.id)")
            for (i, b) in p.beneficiaries.enumerated() where i < ident.count && i < benef.count {
                #expect(ident[i].tag == 0x65 && ident[i].value.count < 128)
                let fields = try #require(tlvObjects(ident[i].value))
                #expect(String(decoding: fields[0].value, as: UTF8.self) == b.nomUsuel)
                #expect(String(decoding: fields[1].value, as: UTF8.self) == b.prenom)
                #expect(String(decoding: fields[2].value, as: UTF8.self) == b.dateNaissance)
                let nir = try #require(tlvObjects(benef[i].value)?.first)
                #expect(nir.tag == 0x93)
                #expect(String(decoding: nir.value, as: UTF8.self) == p.insured.nir)
            }
        }
    }

    @Test func lunarDateAndCorsicanNIRAreStoredRaw() throws {
        let lunar = try PersonaCatalog.makeCard(persona: "vitale2-nguyen-lunar")
        let r = lunar.process(h("00 B0 82 00 2C"))
        #expect(hx(Array(r.prefix(30))) == "65 1C 80 06 4E 47 55 59 45 4E 81 08 56 41 4E 20 4C 4F 4E 47 82 08 31 39 36 35 30 30 30 30")
        let corsica = try PersonaCatalog.makeCard(persona: "vitale2-santoni-corsica")
        _ = corsica.process(h("00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45"))
        #expect(hx(corsica.process(h("00 B0 82 00 13"))) == "65 18 93 0F 31 38 35 30 32 32 41 30 30 34 30 31 37 31 37 90 00")
    }

    @Test func blockedCardRefusesReads() throws {
        let p = try #require(try PersonaCatalog.personas().patients.first)
        var layout = Vitale2Profile.Layout()
        layout.blocked = true
        let card = Vitale2Profile.makeCard(persona: p, layout: layout)
        #expect(hx(card.process(h("00 A4 00 0C 02 3F 00"))) == "90 00")
        #expect(hx(card.process(h("00 B0 82 00 00"))) == "69 85")
    }
}
