import ArgumentParser
import Foundation
import ISO7816
import PCSC

/// `carte readers [--json] [--watch]` (`../shared/specs/cli.md`): readers, state, ATR and recognised card kind,
/// like `pcsc_scan`.
struct ReadersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readers", abstract: "List readers with their state, ATR and recognised card.",
        discussion: """
            States: empty, present, mute, inUse (unavailable: pcscd cannot talk to the reader).
            --watch streams insertions, removals, reader arrivals and departures until interrupted; with --json, \
            one JSON object per line.
            """)

    @Flag(name: .customLong("json"), help: "Print JSON (with --watch: one object per line).")
    var json = false

    @Flag(name: .customLong("watch"), help: "Keep running and print every change.")
    var watch = false

    func run() async throws {
        let readers: [PCSCReaderSnapshot]
        do { readers = try await pcscReaderSnapshot() } catch {
            printError(error.description)
            throw CarteExit.failure
        }
        if !watch {
            if json {
                printLine(jsonLine(["readers": readers.map(readerObject)]))
            } else {
                printTable(readers)
            }
            return
        }
        for await event in PCSCReaderMonitor() {
            if json {
                printLine(jsonLine(eventObject(event)))
            } else {
                printEvent(event)
            }
        }
    }

    private func printTable(_ readers: [PCSCReaderSnapshot]) {
        if readers.isEmpty {
            printLine("no reader connected")
            return
        }
        let width = max(6, readers.map(\.name.count).max() ?? 6)
        printLine(pad("READER", width) + "  " + pad("STATE", 11) + "  " + pad("CARD", 15) + "  ATR")
        for r in readers {
            printLine(
                pad(r.name, width) + "  " + pad(r.state.rawValue, 11) + "  "
                    + pad(r.hasCard ? (recognisedCardKind(atr: r.atr) ?? "unknown") : "-", 15) + "  "
                    + (r.atr.isEmpty ? "-" : r.atr.hexString(separator: " ")))
        }
    }

    private func printEvent(_ event: PCSCReaderEvent) {
        let time = ISO8601DateFormatter().string(from: Date())
        switch event {
        case .snapshot(let readers):
            printLine("\(time)  \(readers.count) reader(s)")
            printTable(readers)
        case .cardInserted(let reader, let atr):
            printLine("\(time)  \(reader): card inserted, \(recognisedCardKind(atr: atr) ?? "unknown"), ATR \(atr.hexString(separator: " "))")
        default:
            printLine("\(time)  \(event)")
        }
    }

    private func readerObject(_ r: PCSCReaderSnapshot) -> [String: Any] {
        [
            "name": r.name, "state": r.state.rawValue,
            "atr": r.atr.isEmpty ? NSNull() : r.atr.hexString() as Any,
            "card": r.hasCard ? (recognisedCardKind(atr: r.atr) ?? "unknown") as Any : NSNull(),
        ]
    }

    private func eventObject(_ event: PCSCReaderEvent) -> [String: Any] {
        switch event {
        case .snapshot(let rs): return ["event": "snapshot", "readers": rs.map(readerObject)]
        case .readerAdded(let r): return ["event": "readerAdded", "reader": r]
        case .readerRemoved(let r): return ["event": "readerRemoved", "reader": r]
        case .cardInserted(let r, let atr):
            return [
                "event": "cardInserted", "reader": r, "atr": atr.hexString(),
                "card": recognisedCardKind(atr: atr) ?? "unknown",
            ]
        case .cardRemoved(let r): return ["event": "cardRemoved", "reader": r]
        case .cardMute(let r): return ["event": "cardMute", "reader": r]
        case .monitoringDegraded(let why): return ["event": "monitoringDegraded", "reason": why]
        case .monitoringRestored: return ["event": "monitoringRestored"]
        }
    }
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

private func jsonLine(_ object: [String: Any]) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}

// MARK: - Card recognition

/// The card kind (`read --json` vocabulary: `vitale1`, `vitale2`, `cps3`, `cps3Contactless`, `cps4`, `desfire`,
/// `iso14443`) recognised from an ATR through ISO7816's `KnownCard` table, or `nil` when unknown. Another
/// contactless-form ATR (PC/SC part 3, `3B 8n 80 01 …`) is reported as `iso14443`.
func recognisedCardKind(atr: [UInt8]) -> String? {
    let kind = KnownCard.kind(of: atr)
    if kind != .unknown { return kind.rawValue }
    return ContactlessATR.isContactless(atr) ? CardKind.iso14443.rawValue : nil
}
