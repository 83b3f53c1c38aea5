import ArgumentParser
import CPS
import Foundation
import ISO7816

/// `carte read` for a CPS3 (cli.md: `kind`, `atr`, `cardType`, `idNat`, `rpps`, `nomExercice`, `prenomExercice`,
/// `profession`, `pinTriesLeft`, `certificates` [{`usage`, `subject`, `notAfter`, `sha256`}], plus `serial`,
/// `civilite`, `specialite`). Reading never presents a PIN: the tries are read with GET DATA on the CHV SDO.
enum CPSReadReport {
    static func readAndPrint(channel: APDUChannel, kind: CardKind, json: Bool) async -> ExitCode? {
        let summary: CPSCardSummary
        do { summary = try await CPSSession(channel: channel).read() } catch {
            printError(error.description)
            switch error {
            case .notACPSCard, .cps4NotSupported: return CarteExit.refused
            default: return CarteExit.failure
            }
        }
        if json {
            print(ReadJSON.render(jsonObject(summary, kind: kind)))
        } else {
            print(text(summary, kind: kind))
        }
        return nil
    }

    static func jsonObject(_ s: CPSCardSummary, kind: CardKind) -> [String: Any] {
        let h = s.holder
        let iso = ISO8601DateFormatter()
        return [
            "kind": kind.rawValue,
            "atr": s.atr.hexString(separator: " "),
            "serial": s.serial?.cardNumber ?? NSNull(),
            "cardType": h.cardType?.rawValue ?? h.cardTypeCode ?? NSNull(),
            "idNat": h.idNat ?? NSNull(),
            "rpps": h.rpps ?? NSNull(),
            "civilite": h.civilite ?? NSNull(),
            "nomExercice": h.nomExercice ?? NSNull(),
            "prenomExercice": h.prenomExercice ?? NSNull(),
            "profession": h.profession ?? NSNull(),
            "specialite": h.specialite ?? NSNull(),
            "pinTriesLeft": s.pinTriesLeft.map { $0 as Any } ?? NSNull(),
            "certificates": s.certificates.map { c -> [String: Any] in
                [
                    "usage": c.usage.rawValue, "subject": c.subject, "issuer": c.issuer, "serial": c.serial,
                    "notBefore": iso.string(from: c.notBefore), "notAfter": iso.string(from: c.notAfter),
                    "sha256": c.sha256.map { String(format: "%02x", $0) }.joined(),
                ]
            },
        ]
    }

    static func text(_ s: CPSCardSummary, kind: CardKind) -> String {
        let h = s.holder
        var lines = [
            "card            \(kind == .cps3Contactless ? "CPS3 (contactless)" : "CPS3") \(h.cardType?.rawValue ?? "")",
            "serial          \(s.serial?.cardNumber ?? "-")",
            "holder          \([h.civilite, h.prenomExercice, h.nomExercice].compactMap { $0 }.joined(separator: " "))",
            "IdNat           \(h.idNat ?? "-")" + (h.rpps.map { " (RPPS \($0))" } ?? ""),
            "profession      \(h.profession.flatMap { $0.isEmpty ? nil : $0 } ?? "-")" + (h.specialite.map { ", \($0)" } ?? ""),
        ]
        if let n = s.pinTriesLeft { lines.append("PIN tries left  \(n)") }
        for c in s.certificates {
            lines.append("certificate     \(c.usage.rawValue): \(c.subject), valid until \(ISO8601DateFormatter().string(from: c.notAfter))")
        }
        return lines.joined(separator: "\n")
    }
}
