import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `carte` command-line tool. Its names, flags, JSON keys and exit codes are a contract
/// (`../shared/specs/cli.md`).
@main
struct Carte: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carte",
        abstract: "French health smart cards (carte Vitale, CPS, badges) over PC/SC and USB CCID, with simulators.",
        discussion: """
            Exit codes: 0 success; 1 the operation ran and said no; 2 usage error; 3 reader, card or service failure.
            NIRs are masked unless --reveal is given; PINs never appear anywhere.
            """,
        subcommands: [
            ATRCommand.self, ReadersCommand.self, ReadCommand.self, INSCommand.self, AuthCommand.self,
            SimulateCommand.self, ServeCommand.self, DemoCommand.self, BenchCommand.self, AuditCommand.self,
        ]
    )

    /// Runs the command, mapping argument-parsing failures to exit code 2 (usage error) as the CLI contract says,
    /// instead of ArgumentParser's default 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                // One line, as every error of the CLI contract: the parser's own message, then where to look.
                let first = message(for: error).split(separator: "\n").first.map(String.init) ?? "usage error"
                let text = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
                printError("\(text) (see carte --help)")
                Glibc.exit(CarteExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}
