import ArgumentParser
import INS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct INSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ins", abstract: "National health identifiers: INS-C and NIR/NIA validation.",
        subcommands: [INSCCommand.self, NIRCommand.self])
}

/// `carte ins insc --prenom P --naissance DATE --nir NIR` and `carte ins insc --batch FILE`
/// (`../shared/specs/cli.md`, `../shared/specs/ins.md` §1.3).
struct INSCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insc", abstract: "Compute the 22-digit INS-C.",
        discussion: """
            One value: --prenom, --naissance (AAMMJJ or AAAAMMJJ, lunar values kept) and --nir (13 characters, \
            or 15 with its key). Batch: --batch FILE (- for stdin), one 'prenom;naissance;nir[;…]' row per line; \
            each line is printed followed by ';' and the INS-C, or by ';ERROR:line N: reason'. Blank lines and \
            lines starting with '#' are copied. Exit 0 only if every row succeeded.
            """)

    @Option(help: "The card's usual first-name field (all words).") var prenom: String?
    @Option(help: "Birth date as stored: AAMMJJ or AAAAMMJJ.") var naissance: String?
    @Option(help: "The person's own NIR, with or without its key.") var nir: String?
    @Option(help: ArgumentHelp("Rows 'prenom;naissance;nir' to process; - reads stdin.", valueName: "FILE"))
    var batch: String?

    /// Checked in `run()`, not in ArgumentParser's `validate()`, so that `--help` prints help and nothing else.
    func checkArguments() throws {
        if batch != nil {
            guard prenom == nil, naissance == nil, nir == nil else {
                printError("--batch cannot be combined with --prenom, --naissance or --nir")
                throw CarteExit.usage
            }
        } else {
            guard prenom != nil, naissance != nil, nir != nil else {
                printError("give --prenom, --naissance and --nir, or --batch FILE")
                throw CarteExit.usage
            }
        }
    }

    func run() async throws {
        try checkArguments()
        if let batch { try runBatch(batch) }
        do {
            let insc = try INSC.compute(prenom: prenom ?? "", birthDate: naissance ?? "", nir: nir ?? "")
            print(insc.value)
        } catch {
            printError(error.description)
            throw CarteExit.refused
        }
    }

    private func runBatch(_ path: String) throws -> Never {
        let fd: Int32
        if path == "-" {
            fd = 0
        } else {
            fd = open(path, O_RDONLY)
            if fd < 0 {
                printError("cannot open the batch file '\(path)': \(String(cString: strerror(errno)))")
                Self.exit(withError: CarteExit.usage)
            }
        }
        defer { if fd > 0 { close(fd) } }
        var input = FileDescriptorBatchInput(fd: fd)
        var output = FileDescriptorBatchOutput(fd: 1)
        do {
            let summary = try INSCBatch.process(input: &input, output: &output)
            if !summary.allSucceeded {
                printError("\(summary.failed) of \(summary.computed + summary.failed) rows got no INS-C (see the ;ERROR: lines)")
                Self.exit(withError: CarteExit.refused)
            }
            Self.exit(withError: nil)
        } catch {
            printError(error.description)
            Self.exit(withError: CarteExit.failure)
        }
    }
}

/// `carte ins nir NIR [--json] [--reveal]`: exit 0 valid, 1 invalid (`../shared/specs/cli.md`).
/// Output from ``NIRReport`` (masked unless `--reveal`).
struct NIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nir", abstract: "Validate a NIR or NIA (structure, key, Corsica).")

    @Argument(help: "The NIR or NIA, 13 characters or 15 with its key; spaces allowed.") var number: String
    @Flag(help: "Print one JSON document.") var json = false
    @Flag(help: "Show the NIR and the place of birth unmasked.") var reveal = false

    func run() async throws {
        let result = NIR.validate(number)
        if json {
            print(NIRReport.json(for: number, reveal: reveal))
        }
        switch result {
        case .success(let nir):
            if !json { print(NIRReport.text(for: nir, reveal: reveal)) }
        case .failure(let reason):
            if !json { printError("invalid NIR \(reveal ? number : NIR.mask(number)): \(reason)") }
            throw CarteExit.refused
        }
    }
}
