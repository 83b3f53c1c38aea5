import ArgumentParser

struct ReadersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "readers", abstract: "List readers with their state, ATR and recognised card.")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []

    func run() async throws {
        throw notAvailableYet("readers")
    }
}
