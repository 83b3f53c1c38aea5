import ArgumentParser

struct INSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ins", abstract: "National health identifiers: INS-C and NIR/NIA validation.",
        subcommands: [INSCCommand.self, NIRCommand.self])
}

struct INSCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "insc", abstract: "Compute the 22-digit INS-C.")
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []
    func run() async throws { throw notAvailableYet("ins insc") }
}

struct NIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nir", abstract: "Validate a NIR or NIA.")
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(visibility: .hidden)) var rest: [String] = []
    func run() async throws { throw notAvailableYet("ins nir") }
}
