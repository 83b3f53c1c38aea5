import ArgumentParser
import Foundation
import INS
import ISO7816
import Vitale

/// `carte read [--reader NAME] [--json] [--reveal] [--transport pcsc|usb|usb-sim|sim] [--simulate PERSONA]`
/// (`../shared/specs/cli.md`): recognise the card from its ATR (`KnownCard`) and read it with the reader of its kind.
///
/// Kinds plug in through `readCard(kind:channel:)`: Vitale 1/2 are read here; CPS and badges say "not available
/// yet" (exit 2) until their readers land. Exit codes: 0 read; 1 card not recognised; 2 usage; 3 card/reader failure.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Recognise and read the card in a reader.",
        discussion: """
            NIRs are masked (sex digit, year and key shown) unless --reveal is given.
            --simulate PERSONA reads an in-process simulated reader holding that persona's card (see carte simulate --list).
            """)

    @OptionGroup var target: ReaderOptions

    @Flag(name: .customLong("json"), help: "Print one JSON document.")
    var json = false

    @Flag(name: .customLong("reveal"), help: "Show NIRs in full.")
    var reveal = false

    @Option(name: .customLong("care-date"), help: "Check the rights at this date (AAAAMMJJ; default: today).")
    var careDate: String?

    func run() async throws {
        let day: VitaleDay
        if let careDate {
            guard careDate.count == 8, let d = VitaleDay(stored: careDate), (1...12).contains(d.month),
                (1...Self.daysIn(month: d.month, year: d.year)).contains(d.day)
            else {
                printError("--care-date must be AAAAMMJJ, got '\(careDate)'")
                throw CarteExit.usage
            }
            day = d
        } else {
            day = VitaleDay.today()
        }

        let t: any CardTransport
        do {
            t = try await openTransport(choice: target.transport, reader: target.reader, simulate: target.simulate)
        } catch {
            printError(error.description)
            throw error.exitCode
        }

        // On the PC/SC connection's own thread when the transport has one (no thread hop per APDU).
        let code = await t.runFlow { () async -> ExitCode? in await readAndReport(t, day: day) }
        await t.disconnect(.leave)
        if let code { throw code }
    }

    /// Days in a calendar month (a care date is a real day, unlike a card's lunar birth dates).
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Reads the card on `t` and prints it; returns the exit code when not 0.
    private func readAndReport(_ t: any CardTransport, day: VitaleDay) async -> ExitCode? {
        let channel: APDUChannel
        do {
            channel = try await APDUChannel.connect(t, preferred: [.t0, .t1])
        } catch {
            printError(error.description)
            return CarteExit.failure
        }
        let kind = KnownCard.kind(of: channel.atr)
        switch kind {
        case .vitale1, .vitale2, .unknown:
            // An unknown ATR is probed with SELECT VITALE (vitale.md §5.4) before being reported unknown.
            do {
                let card = try await VitaleSession(channel: channel).readCard(careDate: day)
                if json {
                    print(ReadJSON.render(VitaleReport.json(card, reveal: reveal)))
                } else {
                    print(VitaleReport.text(card, reveal: reveal), terminator: "")
                }
                return nil
            } catch .notAVitaleCard(let atr) {
                emitUnknown(atr: atr)
                return CarteExit.refused
            } catch {
                printError(error.description)
                return CarteExit.failure
            }
        case .cps3, .cps3Contactless:
            return await CPSReadReport.readAndPrint(channel: channel, kind: kind, json: json)
        case .desfire, .iso14443:
            return await BadgeReadReport.readAndPrint(transport: t, atr: channel.atr, kind: kind, json: json)
        case .cps4:
            printError("CPS4 card recognised, not supported yet (ATR \(channel.atr.hexString(separator: " ")))")
            return CarteExit.refused
        }
    }

    private func emitUnknown(atr: [UInt8]) {
        if json {
            print(ReadJSON.render(["kind": "unknown", "atr": atr.hexString(separator: " ")]))
        } else {
            print("card not recognised (ATR \(atr.hexString(separator: " ")))")
        }
        printError("card not recognised (ATR \(atr.hexString(separator: " ")))")
    }
}

/// JSON rendering with sorted keys (stable output for scripts).
enum ReadJSON {
    static func render(_ object: [String: Any]) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The Vitale part of `carte read`: JSON keys exactly as cli.md, NIRs masked unless `reveal`.
enum VitaleReport {
    static func nir(_ value: String?, reveal: Bool) -> Any {
        guard let value else { return NSNull() }
        return reveal ? value : NIR.mask(value)
    }

    static func json(_ card: VitaleCard, reveal: Bool) -> [String: Any] {
        [
            "kind": card.kind.rawValue,
            "atr": card.atr.hexString(separator: " "),
            "serial": card.serial as Any? ?? NSNull(),
            "validityStart": card.validityStart as Any? ?? NSNull(),
            "testCard": card.isTestCard,
            "careDate": card.careDate.description,
            "insured": [
                "nir": nir(card.insured.nir, reveal: reveal), "regime": card.insured.regime,
                "caisse": card.insured.caisse, "centre": card.insured.centre,
                "codeGestion": card.insured.codeGestion,
            ] as [String: Any],
            "protectedData": card.protectedData.map(\.description),
            "beneficiaries": card.beneficiaries.map { b -> [String: Any] in
                [
                    "nomUsuel": b.nomUsuel,
                    "nomPatronymique": b.nomPatronymique as Any? ?? NSNull(),
                    "prenom": b.prenom,
                    "dateNaissance": b.dateNaissance.raw,
                    "dateNaissanceAffichee": b.dateNaissance.displayable,
                    "rang": b.rang,
                    "qualite": b.qualite,
                    "nir": nir(b.nir, reveal: reveal),
                    "nirCertifie": nir(b.nirCertifie, reveal: reveal),
                    "insc": b.insc as Any? ?? NSNull(),
                    "inscReason": b.inscReason as Any? ?? NSNull(),
                    "rights": b.rights.map { ["start": $0.start, "end": $0.end] },
                    "rightsOpen": b.rightsOpen(at: card.careDate).isOpen,
                ]
            },
        ]
    }

    static func text(_ card: VitaleCard, reveal: Bool) -> String {
        var s = "carte \(card.kind == .vitale1 ? "Vitale 1" : "Vitale 2")  ATR \(card.atr.hexString(separator: " "))\n"
        s += "serial        \(card.serial ?? "-")\n"
        if let v = card.validityStart { s += "valid from    \(v)\n" }
        if let why = card.testCardReason { s += "TEST CARD     \(why)\n" }
        let i = card.insured
        s += "insured NIR   \(reveal ? i.nir : NIR.mask(i.nir))\n"
        s += "organism      régime \(i.regime), caisse \(i.caisse), centre \(i.centre), code gestion \(i.codeGestion)\n"
        for b in card.beneficiaries {
            s += "\n#\(b.index + 1) \(b.prenom) \(b.nomUsuel)"
            if let p = b.nomPatronymique, p != b.nomUsuel { s += " (né(e) \(p))" }
            s += "  —  \(b.qualiteLabel)\n"
            s += "   born       \(b.dateNaissance.raw)"
            if b.dateNaissance.isLunar || !b.dateNaissance.hasCentury { s += " (shown as \(b.dateNaissance.displayable))" }
            s += ", rang \(b.rang)\n"
            if let n = b.nirCertifie { s += "   NIR cert.  \(reveal ? n : NIR.mask(n))\n" }
            s += "   INS-C      \(b.insc ?? b.inscReason ?? "none")\n"
            s += "   rights     \(b.rights.isEmpty ? "-" : b.rights.map { "\($0.start)–\($0.end)" }.joined(separator: ", "))"
            s += "  → \(b.rightsOpen(at: card.careDate)) on \(card.careDate)\n"
        }
        for p in card.protectedData { s += "\nprotected: \(p)\n" }
        return s
    }
}

extension VitaleDay {
    /// Today in the local time zone.
    static func today() -> VitaleDay {
        let c = Calendar(identifier: .gregorian).dateComponents([.year, .month, .day], from: Date())
        return VitaleDay(year: c.year ?? 2000, month: c.month ?? 1, day: c.day ?? 1)
    }
}
