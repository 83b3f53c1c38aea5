import ArgumentParser

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Recognise and read the card in a reader.")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []

    func run() async throws {
        throw notAvailableYet("read")
    }
}
