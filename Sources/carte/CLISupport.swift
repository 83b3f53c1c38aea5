import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Exit codes of `../shared/specs/cli.md`.
enum CarteExit {
    /// The operation ran and said no (invalid NIR, authentication refused, card not recognised).
    static let refused = ExitCode(1)
    /// Usage error.
    static let usage = ExitCode(2)
    /// Reader, card or service failure (no pcscd, card removed, reader gone).
    static let failure = ExitCode(3)
}

/// Writes `carte: <message>` on stderr, the one-line error format of the CLI contract.
func printError(_ message: String) {
    var line = Array("carte: \(message)\n".utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Used by subcommands whose issue has not landed yet: says so plainly and exits 2.
func notAvailableYet(_ command: String) -> ExitCode {
    printError("'\(command)' is not available yet in this build")
    return CarteExit.usage
}

/// Reader backends (`--transport`).
enum TransportChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case pcsc, usb, usbSim = "usb-sim", sim
}

/// The reader selection shared by the commands that talk to a card (`carte read`, `carte auth`): cli.md's
/// `--reader`, `--transport` and `--simulate` conventions.
struct ReaderOptions: ParsableArguments {
    @Option(name: .customLong("reader"), help: "The reader to use (default: the first with a card).")
    var reader: String?

    @Option(name: .customLong("transport"), help: "Reader backend: pcsc, usb, usb-sim or sim.")
    var transport: TransportChoice = .pcsc

    @Option(
        name: .customLong("simulate"),
        help: "Use an in-process simulated reader holding this persona's card (see carte simulate --list).")
    var simulate: String?
}
