import CardSimulator
import ISO7816
import Testing
import Vitale

/// The fault-injection matrix of issue 9 over every flow on the in-process simulator (`SimulatedReader` +
/// `FaultPlan`): for each APDU index k of the flow's clean run (k = 1…N, N discovered from that run), each fault
/// is injected at k on a fresh card and the flow must end with the exact typed error, leave no transaction open,
/// touch no PIN counter unless the VERIFY itself went out and was answered, and the next insertion must read
/// cleanly. Flows: Vitale read (`VitaleSession.readCard`). The CPS authentication, badge authentication and the
/// service session join when their modules land; pcscd killed mid-flow is the e2e environment's job.
@Suite("Fault-injection matrix")
struct FaultMatrixTests {
    static let persona = "vitale2-bernard-family"
    static let careDate = VitaleDay(year: 2026, month: 1, day: 15)

    /// The faults of one matrix column.
    enum Column: String, CaseIterable, CustomStringConvertible {
        /// The card leaves the slot just before APDU k.
        case removedBefore
        /// The card does not answer APDU k once (a reader hiccup): the Vitale reader re-sends it.
        case muteOnce
        /// The card does not answer APDU k nor anything after it.
        case muteFromK
        /// The answer to APDU k loses everything after its first byte (not even a status word).
        case truncated
        /// The status word of the answer to APDU k is damaged into `6F 00` (no precise diagnosis).
        case statusWordDamaged
        var description: String { rawValue }

        func plan(k: Int, total: Int) -> FaultPlan {
            switch self {
            case .removedBefore: return FaultPlan([.cardRemovedBefore(apdu: k)])
            case .muteOnce: return FaultPlan([.muteCard(apdu: k)])
            case .muteFromK: return FaultPlan((k...(total + 8)).map { .muteCard(apdu: $0) })
            case .truncated: return FaultPlan([.truncateResponse(apdu: k, keepBytes: 1)])
            case .statusWordDamaged: return FaultPlan([.replaceStatusWord(apdu: k, sw: StatusWord(sw1: 0x6F, sw2: 0x00))])
            }
        }
    }

    /// One run of the Vitale read on a fresh reader holding a fresh card of the persona.
    struct Run {
        var reader: SimulatedReader
        var result: Result<VitaleCard, VitaleError>
        var transcript: [TranscriptEntry]
    }

    static func runVitale(plan: FaultPlan, persona: String = persona) async throws -> Run {
        let reader = SimulatedReader(name: "matrix reader")
        try await reader.insert(persona: persona)
        await reader.setFaultPlan(plan)
        let result: Result<VitaleCard, VitaleError>
        do {
            result = .success(try await VitaleSession(transport: reader).readCard(careDate: careDate))
        } catch {
            result = .failure(error)
        }
        return Run(reader: reader, result: result, transcript: await reader.transcript)
    }

    /// The C-APDUs of a transcript (every transmit to the card, answered or not).
    static func commands(_ t: [TranscriptEntry]) -> [[UInt8]] { t.filter { $0.kind == .apdu }.map(\.command) }

    /// The exact outcome a fault at k must give, from what APDU k is in the clean run.
    static func expected(_ column: Column, command: [UInt8]) -> Outcome {
        switch column {
        case .removedBefore: return .error(.cardRemoved)
        case .muteOnce: return .sameCard
        case .muteFromK: return .error(.transport(.cardMute))
        case .truncated: return .cardProtocol
        case .statusWordDamaged:
            // SELECT MF_VITALE by AID refused: the reader falls back to SELECT MF by FID (RufusAdmin's form,
            // vitale.md §5.1), which the card answers, so the read completes with the same data.
            if command.count > 5, command[1] == 0xA4, command[2] == 0x04,
                Array(command[5...].prefix(Vitale2Identifiers.mfVitaleAID.count)) == Vitale2Identifiers.mfVitaleAID
            {
                return .sameCard
            }
            return .unexpectedStatus(StatusWord(sw1: 0x6F, sw2: 0x00))
        }
    }

    static func summary(_ r: Result<VitaleCard, VitaleError>) -> String {
        switch r {
        case .success(let c): return "a card with \(c.beneficiaries.count) beneficiaries"
        case .failure(let e): return "error \(e) (\(e.description))"
        }
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case sameCard
        case error(VitaleError)
        /// `.cardProtocol(_)` whatever its words.
        case cardProtocol
        /// `.unexpectedStatus(step: _, status: sw)`.
        case unexpectedStatus(StatusWord)

        var description: String {
            switch self {
            case .sameCard: return "the same card as the clean read"
            case .error(let e): return "error \(e)"
            case .cardProtocol: return "cardProtocol"
            case .unexpectedStatus(let sw): return "unexpectedStatus(\(sw))"
            }
        }

        func matches(_ r: Result<VitaleCard, VitaleError>, clean: VitaleCard) -> Bool {
            switch (self, r) {
            case (.sameCard, .success(let c)): return c == clean
            case (.error(let e), .failure(let got)): return e == got
            case (.cardProtocol, .failure(.cardProtocol)): return true
            case (.unexpectedStatus(let sw), .failure(.unexpectedStatus(_, let got))): return sw == got
            default: return false
            }
        }
    }

    @Test(
        "Vitale read: every fault at every APDU ends with the exact error, no open transaction, and the next insertion reads",
        arguments: [("vitale2-bernard-family", 8), ("vitale1-lefebvre", 0)])
    func vitaleReadMatrix(persona: String, expectedAPDUs: Int) async throws {
        let clean = try await Self.runVitale(plan: .none, persona: persona)
        let cleanCard = try clean.result.get()
        let cleanCommands = Self.commands(clean.transcript)
        let n = cleanCommands.count
        // vitale2: IDENT (2 READ BINARY), SELECT VITALE, BENEF (2), CARTE, AMO, AMC (VitaleTests has the exact bytes)
        if expectedAPDUs > 0 { #expect(n == expectedAPDUs) }
        #expect(n >= 3)
        var cells = 0
        var failures: [String] = []
        for k in 1...n {
            for column in Column.allCases {
                cells += 1
                let run = try await Self.runVitale(plan: column.plan(k: k, total: n), persona: persona)
                let want = Self.expected(column, command: cleanCommands[k - 1])
                if !want.matches(run.result, clean: cleanCard) {
                    failures.append("k=\(k) \(column): expected \(want), got \(Self.summary(run.result))")
                }
                // Up to APDU k the flow sent exactly the clean run's commands (nothing skipped or reordered).
                let sent = Self.commands(run.transcript)
                #expect(Array(sent.prefix(k - 1)) == Array(cleanCommands.prefix(k - 1)), "k=\(k) \(column)")
                switch column {
                case .removedBefore:
                    // Nothing is sent once the card is gone.
                    #expect(sent.count == k - 1, "k=\(k): \(sent.count) commands after a removal before #\(k)")
                case .muteOnce:
                    // Exactly one re-send, of the very same command.
                    #expect(sent.count == n + 1 && sent[k] == sent[k - 1], "k=\(k): not one identical re-send")
                case .muteFromK:
                    // The command is tried 1 + VitaleSession's retries times, then the read gives up.
                    #expect(sent.count == k + 3 && Set(sent[(k - 1)...]).count == 1, "k=\(k): \(sent.count) commands")
                case .truncated, .statusWordDamaged:
                    break
                }
                // No transaction left open.
                #expect(await run.reader.isInTransaction == false, "k=\(k) \(column): transaction left open")
                // No PIN counter touched: the Vitale read never sends VERIFY / CHANGE / RESET RETRY COUNTER.
                #expect(!sent.contains { $0.count > 1 && [0x20, 0x24, 0x2C].contains($0[1]) }, "k=\(k) \(column)")
                // The next insertion works: the card goes out and in again, a new session reads it cleanly.
                await run.reader.setFaultPlan(.none)
                await run.reader.remove()
                try await run.reader.insert(persona: persona)
                let again = try await VitaleSession(transport: run.reader).readCard(careDate: Self.careDate)
                #expect(again == cleanCard, "k=\(k) \(column): the read after re-insertion differs")
                #expect(await run.reader.isInTransaction == false)
            }
        }
        print("fault matrix: vitaleRead \(persona) \(n) APDUs × \(Column.allCases.count) faults = \(cells) cells, \(cells - failures.count) passed")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
