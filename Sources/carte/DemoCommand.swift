import ArgumentParser
import CarteDemo
import Foundation
import VirtualPCD

/// `carte demo [--pcsc] [--json]` (`../shared/specs/cli.md`, issue 6): the whole access flow on simulated cards,
/// step by step, no hardware needed. The flow itself lives in the CarteDemo module (`DemoRunner`); this command
/// picks the readers, prints each step as it ends and sets the exit code: 0 when every step gave its expected
/// outcome (the refusal of step 4 included), 3 otherwise (also when `--pcsc` finds no pcscd or no vpcd reader).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "The whole access flow on simulated cards, step by step.",
        discussion: """
            1. the pharmacist's CPS, PIN typed on the simulated pinpad, chain and CRLs checked;
            2. the family carte Vitale: beneficiaries, INS-C of each (or why none), rights today;
            3. the physician's badge enrolled after her CPS, then a tap & go;
            4. a revoked CPS refused with its reason;
            5. a summary with virtual wire time and wall time per step.
            No hardware, no daemon: in-process simulated readers. --pcsc runs the same flow through the real pcscd
            and vpcd. Exit 0 when every step gave its expected outcome, 3 otherwise.
            """)

    @Flag(name: .customLong("pcsc"), help: "Run through the real pcscd and vpcd (the simulated cards attached by the vpcd bridge).")
    var pcsc = false

    @Flag(name: .customLong("json"), help: "Print one JSON document with the steps and their outcomes.")
    var json = false

    @Option(
        name: .customLong("vpcd"),
        help: "With --pcsc: where vpcd listens for slot 0, [HOST:]PORT (default 127.0.0.1:35963; slot 1 on PORT+1).")
    var vpcd: String?

    func run() async throws {
        let readers: any DemoReaderSet
        if pcsc {
            let address: VPCDAddress
            if let vpcd {
                do { address = try VPCDAddress(parsing: vpcd) } catch {
                    printError(error.description)
                    throw CarteExit.usage
                }
            } else {
                address = VPCDAddress()
            }
            do { readers = try await PCSCDemoReaderSet.make(vpcd: address) } catch {
                printError(error.description)
                throw CarteExit.failure
            }
        } else {
            if vpcd != nil {
                printError("--vpcd goes with --pcsc")
                throw CarteExit.usage
            }
            readers = await SimulatedDemoReaderSet.make()
        }
        let runner = DemoRunner(readers: readers)
        let text = !json
        if text { emit(DemoTextRenderer.banner(backend: readers.backend)) }
        let report = await runner.run { event in
            guard text else { return }
            switch event {
            case .readersReady(let names): emit(DemoTextRenderer.readers(names))
            case .preparingPKI: emit("  preparing the test PKI (the first run creates its keys: a few seconds)… ")
            case .pkiReady(let ns): emit("ready (\(DemoTextRenderer.milliseconds(ns)))\n")
            case .stepStarted: break
            case .stepFinished(let step): emit(DemoTextRenderer.step(step))
            }
        }
        await readers.shutdown()
        if json {
            print(DemoJSON.render(report))
        } else {
            emit(DemoTextRenderer.summary(report))
        }
        if !report.allExpected {
            let off = report.steps.filter { $0.status != .passed }
                .map { "step \($0.kind.number) (\($0.kind.rawValue)): \($0.outcome)" }
            printError("the demo did not go as expected: " + off.joined(separator: "; "))
            throw CarteExit.failure
        }
    }
}

/// Writes `text` on stdout at once (the steps appear as they end, even when stdout is a pipe).
private func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
