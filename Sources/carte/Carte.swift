import ArgumentParser

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
}
