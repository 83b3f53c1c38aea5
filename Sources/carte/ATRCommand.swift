import ArgumentParser

struct ATRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atr", abstract: "Decode an ATR (ISO/IEC 7816-3 §8).")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []

    func run() async throws {
        throw notAvailableYet("atr")
    }
}
