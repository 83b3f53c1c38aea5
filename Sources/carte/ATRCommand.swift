import ArgumentParser
import ISO7816

/// `carte atr HEX [--json]` (cli.md): decodes an ATR. Exit 0 when well formed, 1 when the ATR is malformed (it is
/// still printed with its `errors`), 2 on a usage error (no hex, not hex).
struct ATRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atr", abstract: "Decode an ATR (ISO/IEC 7816-3 §8).",
        discussion: """
            HEX is the ATR in hexadecimal; spaces and ':' are optional and it may be split over several arguments \
            (e.g. `carte atr 3B 75 13 00 00 47 09 EA 90 00`). Exit 0 when the ATR is well formed, 1 when it is \
            malformed (the decoding is still printed, with its errors).
            """)

    @Argument(help: "The ATR in hexadecimal (spaces optional; may span several arguments).")
    var hex: [String] = []

    @Flag(help: "Print one JSON document (keys of cli.md).")
    var json = false

    func run() async throws {
        let text = hex.joined(separator: " ")
        guard let bytes = [UInt8](hex: text) else {
            printError("'\(text)' is not hexadecimal (two hex digits per byte, spaces optional)")
            throw CarteExit.usage
        }
        guard !bytes.isEmpty else {
            printError("give the ATR in hexadecimal, e.g. carte atr 3B 75 13 00 00 47 09 EA 90 00")
            throw CarteExit.usage
        }
        let atr = ATR(bytes)
        print(json ? atr.jsonString() : atr.summary)
        if !atr.errors.isEmpty {
            printError("malformed ATR: " + atr.errors.joined(separator: "; "))
            throw CarteExit.refused
        }
    }
}
