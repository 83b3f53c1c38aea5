import CardSimulator
import ISO7816
import Vitale

/// The `vitaleRead` flow of `carte bench`: all beneficiaries and rights of a Vitale 2 persona (default
/// `vitale2-bernard-family`), read by `VitaleSession.readCard(careDate:)` on an in-process contact reader
/// (`SimulatedReader`, 4 MHz, PPS when TA1 offers more speed).
///
/// Functional bytes: the primitive BER-TLV data objects that hold data (tag + length + value, non-empty value) in
/// the files the decoder uses (identity `65{80…}`, beneficiary `65{93…}`, card `66`, AMO `67`/`68`, AMC `69`;
/// vitale.md §6.1, §9.2). Padding, empty objects, template headers and EF POINTERS (navigation, `E0`) are not
/// functional: a reader that knew where the data are would not move them.
public enum VitaleReadBenchmark {
    /// The care date used for the rights (fixed, so the figures never change).
    public static let careDate = VitaleDay(year: 2026, month: 1, day: 15)

    /// Runs the flow once on a fresh card and returns its figures.
    /// - Throws: `BenchError.flowFailed` when the read fails (a bug: the persona is well formed).
    public static func run(persona: String = "vitale2-bernard-family",
        configuration: SimulatedReaderConfiguration = .contact()) async throws(BenchError) -> FlowFigures
    {
        let reader = SimulatedReader(name: "bench Vitale reader", configuration: configuration)
        do { try await reader.insert(persona: persona) } catch { throw .flowFailed("vitaleRead", error.description) }
        let card: VitaleCard
        do {
            card = try await VitaleSession(transport: reader).readCard(careDate: careDate)
        } catch {
            throw .flowFailed("vitaleRead", error.description)
        }
        let log = await reader.transcript
        let wire = await reader.wireParameters
        let atr = log.first { $0.kind == .atr }?.response ?? []
        let t = TranscriptAccounting.totals(log)
        let negotiated = FlowMeasure.link(wire)
        let limitLink = TranscriptAccounting.fastestLink(
            atr: atr, reader: configuration.capabilities, contactless: wire.contactless)
        let files = FileReassembly.files(in: log)
        let functional = files.reduce(0) { $0 + $1.functionalBytes }
        let limit = TranscriptAccounting.limitMilliseconds(bytes: functional, link: limitLink)
        let wireMs = Double(t.wireNs) / 1_000_000
        let rights = card.beneficiaries.reduce(0) { $0 + $1.rights.count }
        return FlowFigures(
            apdus: t.apdus, bytesToCard: t.toCard, bytesFromCard: t.fromCard, wireTimeMs: wireMs, limitMs: limit,
            wireTimeToLimitRatio: limit > 0 ? wireMs / limit : 0, functionalBytes: functional,
            atrMs: Double(t.atrNs) / 1_000_000, ppsCount: t.pps, ppsMs: Double(t.ppsNs) / 1_000_000,
            negotiated: negotiated, limitLink: limitLink,
            breakdownMs: FileReassembly.breakdown(log, files: files, link: negotiated),
            note: "\(persona): \(card.beneficiaries.count) beneficiaries, \(rights) rights periods, "
                + "\(files.count) files read")
    }
}

/// Rebuilds the transparent files a flow read from the transcript: a READ BINARY at offset 0 (or by SFI) starts a
/// file, READ BINARY at a higher offset and GET RESPONSE add to it (ISO/IEC 7816-4 §11.3.3, §7.6.1).
enum FileReassembly {
    struct File {
        /// Transcript indices of the exchanges whose data belong to the file.
        var entries: [Int] = []
        var bytes: [UInt8] = []
        /// First top-level tag (nil when the file holds only padding).
        var firstTag: UInt32?
        var functionalBytes = 0
        var isPointers: Bool { firstTag == 0xE0 }
    }

    /// Tags that start a file the Vitale decoder uses.
    static let dataFileTags: Set<UInt32> = [0x65, 0x66, 0x67, 0x68, 0x69]

    static func files(in log: [TranscriptEntry]) -> [File] {
        var files: [File] = []
        var lastWasRead = false
        for (i, e) in log.enumerated() where e.kind == .apdu && e.error == nil && e.command.count >= 4 {
            let ins = e.command[1]
            let data = e.response.count >= 2 ? Array(e.response.dropLast(2)) : []
            switch ins {
            case 0xB0:
                let p1 = e.command[2], p2 = e.command[3]
                let offset = p1 & 0x80 != 0 ? Int(p2) : Int(p1) << 8 | Int(p2)
                if offset == 0 || files.isEmpty { files.append(File()) }
                files[files.count - 1].entries.append(i)
                files[files.count - 1].bytes += data
                lastWasRead = true
            case 0xC0 where lastWasRead && !files.isEmpty:
                files[files.count - 1].entries.append(i)
                files[files.count - 1].bytes += data
            default:
                lastWasRead = false
            }
        }
        // A file read twice counts once in the functional bytes.
        var seen: Set<[UInt8]> = []
        for k in files.indices {
            let objects = BERTLV.decodeLenient(files[k].bytes).objects
            files[k].firstTag = objects.first?.tag
            guard let tag = objects.first?.tag, dataFileTags.contains(tag), !seen.contains(files[k].bytes) else { continue }
            seen.insert(files[k].bytes)
            files[k].functionalBytes = objects.reduce(0) { $0 + dataBytes($1) }
        }
        return files
    }

    /// Bytes of the primitive data objects holding data under `o` (tag + length + value).
    static func dataBytes(_ o: BERTLV) -> Int {
        if o.isConstructed { return o.children.reduce(0) { $0 + dataBytes($1) } }
        guard !o.value.isEmpty, o.value.contains(where: { $0 != 0x00 && $0 != 0xFF }) else { return 0 }
        return o.encoded.count
    }

    /// Wire time by cause, milliseconds: `functionalData`, `paddingAndUnusedData` (bytes read but not needed),
    /// `pointers` (EF POINTERS data), `selects` (whole SELECT exchanges), `headersStatusProcedure` (the rest of
    /// each READ BINARY / GET RESPONSE exchange: 5 header bytes, ACK, SW1-SW2), `otherCommands`, `pps`, `control`.
    static func breakdown(_ log: [TranscriptEntry], files: [File], link: LinkFigures) -> [String: Double] {
        var out: [String: Double] = [
            "functionalData": 0, "paddingAndUnusedData": 0, "pointers": 0, "selects": 0,
            "headersStatusProcedure": 0, "otherCommands": 0, "pps": 0, "failedExchanges": 0,
        ]
        var fileOf: [Int: Int] = [:]
        for (k, f) in files.enumerated() { for i in f.entries { fileOf[i] = k } }
        // Functional bytes are charged to a file's first exchanges, the rest of its data is unused.
        var functionalLeft = files.map(\.functionalBytes)
        let ch = link.characterNanoseconds
        for (i, e) in log.enumerated() {
            let ms = Double(e.durationNanoseconds) / 1_000_000
            switch e.kind {
            case .atr: continue
            case .pps: out["pps", default: 0] += ms
            case .control, .readerPseudoAPDU: out["otherCommands", default: 0] += ms
            case .apdu:
                guard e.error == nil else { out["failedExchanges", default: 0] += ms; continue }
                if let k = fileOf[i] {
                    let dataCount = max(0, e.response.count - 2)
                    let dataMs = Double(dataCount) * ch / 1_000_000
                    out["headersStatusProcedure", default: 0] += ms - dataMs
                    if files[k].isPointers {
                        out["pointers", default: 0] += dataMs
                    } else {
                        let f = min(functionalLeft[k], dataCount)
                        functionalLeft[k] -= f
                        out["functionalData", default: 0] += Double(f) * ch / 1_000_000
                        out["paddingAndUnusedData", default: 0] += Double(dataCount - f) * ch / 1_000_000
                    }
                } else if e.command.count >= 2 && e.command[1] == 0xA4 {
                    out["selects", default: 0] += ms
                } else {
                    out["otherCommands", default: 0] += ms
                }
            }
        }
        return out
    }
}

/// Why a benchmark could not produce its figure.
public enum BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A flow failed on the simulator (a defect: the personas are well formed).
    case flowFailed(String, String)
    /// A helper program could not run.
    case helperFailed(String)

    public var description: String {
        switch self {
        case .flowFailed(let flow, let why): return "the \(flow) flow failed on the simulator: \(why)"
        case .helperFailed(let why): return why
        }
    }
}
