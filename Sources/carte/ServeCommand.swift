import ArgumentParser

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "The terminal service.")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []

    func run() async throws {
        throw notAvailableYet("serve")
    }
}
