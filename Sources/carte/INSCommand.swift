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

    func validate() throws {
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
/// Without `--reveal` the NIR is masked and the place of birth is reduced to its kind (with the
/// département and commune, sex, year, month and key, the number would be nearly recoverable).
struct NIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nir", abstract: "Validate a NIR or NIA (structure, key, Corsica).")

    @Argument(help: "The NIR or NIA, 13 characters or 15 with its key; spaces allowed.") var number: String
    @Flag(help: "Print one JSON document.") var json = false
    @Flag(help: "Show the NIR and the place of birth unmasked.") var reveal = false

    func run() async throws {
        let result = NIR.validate(number)
        let shown = reveal ? number : NIR.mask(number)
        switch result {
        case .success(let nir):
            if json {
                print(Self.json(nir: nir, reveal: reveal))
            } else {
                print(Self.human(nir: nir, reveal: reveal))
            }
        case .failure(let reason):
            if json {
                var o = JSONObject()
                o.add("valid", .bool(false))
                o.add("reason", .string(reason.description))
                for key in ["sex", "birthYear", "birthMonth", "place", "key"] { o.add(key, .null) }
                o.add("nir", .string(shown))
                print(o.rendered)
            } else {
                printError("invalid NIR \(shown): \(reason)")
            }
            throw CarteExit.refused
        }
    }

    fileprivate static func placeFields(_ place: NIRPlace, reveal: Bool) -> JSONObject {
        var p = JSONObject()
        p.add("kind", .string(place.kindName))
        guard reveal else { return p }
        switch place {
        case .metropolitan(let d, let c), .overseas(let d, let c):
            p.add("departement", .string(d))
            p.add("commune", .string(c))
        case .abroad(let country):
            p.add("country", .string(country))
        case .tunisiaBeforeIndependence(let code):
            p.add("code", .string(code))
        }
        return p
    }

    static func json(nir: NIR, reveal: Bool) -> String {
        var o = JSONObject()
        o.add("valid", .bool(true))
        o.add("reason", .null)
        o.add("sex", .string(nir.sex.rawValue))
        o.add("birthYear", .int(nir.birthYear))
        o.add("birthMonth", .int(nir.birthMonth))
        o.add("place", .object(placeFields(nir.place, reveal: reveal)))
        o.add("key", .int(nir.key))
        o.add("kind", .string(nir.kind.rawValue))
        o.add("monthKind", .string(nir.monthKind.rawValue))
        o.add("keyGiven", .bool(nir.keyWasGiven))
        o.add("nir", .string(reveal ? nir.formatted : nir.masked))
        return o.rendered
    }

    static func human(nir: NIR, reveal: Bool) -> String {
        let kind =
            switch nir.kind {
            case .nir: "NIR"
            case .nia: "NIA (temporary number)"
            case .coordinatedTransit: "coordinated-transit number"
            }
        let month = nir.birthMonth < 10 ? "0\(nir.birthMonth)" : "\(nir.birthMonth)"
        let year = nir.birthYear < 10 ? "0\(nir.birthYear)" : "\(nir.birthYear)"
        let key = nir.key < 10 ? "0\(nir.key)" : "\(nir.key)"
        var place = nir.place.kindName
        if reveal {
            switch nir.place {
            case .metropolitan(let d, let c), .overseas(let d, let c): place += ", département \(d), commune \(c)"
            case .abroad(let country): place += ", country \(country)"
            case .tunisiaBeforeIndependence(let code): place += ", code \(code)"
            }
        } else {
            place += " (--reveal to show)"
        }
        return """
            valid \(kind) \(reveal ? nir.formatted : nir.masked)
            sex    \(nir.sex.rawValue)
            born   year \(year), month \(month) (\(nir.monthKind.rawValue))
            place  \(place)
            key    \(key)\(nir.keyWasGiven ? "" : " (computed; not given)")
            """
    }
}

/// A minimal ordered JSON object writer for the `ins` subcommands.
fileprivate struct JSONObject {
    indirect enum Value {
        case string(String), int(Int), bool(Bool), null, object(JSONObject)
    }
    private var fields: [(String, Value)] = []

    mutating func add(_ key: String, _ value: Value) { fields.append((key, value)) }

    var rendered: String {
        "{" + fields.map { "\(Self.quote($0.0)):\(Self.render($0.1))" }.joined(separator: ",") + "}"
    }

    static func render(_ v: Value) -> String {
        switch v {
        case .string(let s): quote(s)
        case .int(let i): "\(i)"
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .object(let o): o.rendered
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
