import ArgumentParser

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "Run simulated cards, optionally attached to pcscd through vpcd.")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []

    func run() async throws {
        throw notAvailableYet("simulate")
    }
}
