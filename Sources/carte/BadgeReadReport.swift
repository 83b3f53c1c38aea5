import ArgumentParser
import Badges
import Foundation
import ISO7816

/// The badge part of `carte read` (cli.md: kind `desfire` or `iso14443`, then `uid`). Reading a badge identifies
/// the card only: a UID proves nothing about a person (authentication is `carte auth`).
enum BadgeReadReport {
    /// Reads the UID (PC/SC part 3 Get UID, contactless slots only) and, for DESFire, GetVersion; prints them.
    /// - Returns: the exit code when not 0 (3 on a card or reader failure).
    static func readAndPrint(transport: any CardTransport, atr: [UInt8], kind: CardKind, json: Bool) async -> ExitCode? {
        let session = BadgeSession(transport: transport, atr: atr)
        var object: [String: Any] = ["kind": kind.rawValue, "atr": atr.hexString(separator: " ")]
        var lines = ["contactless badge (\(kind.rawValue))  ATR \(atr.hexString(separator: " "))"]
        do {
            let uid = try await session.readUID()
            object["uid"] = uid.hexString()
            lines.append("UID           \(uid.hexString(separator: " "))")
        } catch .uidNotAvailable {
            object["uid"] = NSNull()
            lines.append("UID           not available from this reader")
        } catch {
            printError(error.description)
            return CarteExit.failure
        }
        if kind == .desfire {
            do {
                let v = try await session.getVersion()
                object["desfire"] = [
                    "vendor": v.hardware.vendorName,
                    "hardwareVersion": "\(v.hardware.majorVersion).\(v.hardware.minorVersion)",
                    "softwareVersion": "\(v.software.majorVersion).\(v.software.minorVersion)",
                    "storageBytes": v.hardware.storageSize,
                ]
                lines.append(
                    "DESFire       \(v.hardware.vendorName), hardware \(v.hardware.majorVersion).\(v.hardware.minorVersion), "
                        + "software \(v.software.majorVersion).\(v.software.minorVersion), \(v.hardware.storageSize) bytes")
            } catch {
                printError(error.description)
                return CarteExit.failure
            }
        }
        lines.append("note          a UID alone identifies no one; badges are authenticated (DESFire AES) by the terminal service's tap & go")
        if json {
            print(ReadJSON.render(object))
        } else {
            print(lines.joined(separator: "\n"))
        }
        return nil
    }
}
