import ArgumentParser
import CardSimulator
import Foundation
import VirtualPCD

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `carte simulate --persona ID [--persona ID …] [--vpcd [HOST:]PORT] [--list]` (`../shared/specs/cli.md`).
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run simulated cards, optionally attached to pcscd through vpcd.",
        discussion: """
            With --vpcd, the first persona's card is attached to vpcd slot 0 on PORT (default 35963), the next to \
            PORT+1, and so on; pcscd shows them as "Virtual PCD 00 00", "Virtual PCD 00 01" …
            Commands on stdin: 'remove N', 'insert N [PERSONA]', 'status', 'quit' (N = slot index from 0).
            End of stdin does not stop the simulator: only 'quit', SIGINT or SIGTERM do.
            """)

    @Option(name: .customLong("persona"), help: "A persona ID (see --list); repeat for several cards.")
    var personas: [String] = []

    @Option(name: .customLong("vpcd"), help: "Attach the cards to pcscd's vpcd driver at [HOST:]PORT (e.g. 35963).")
    var vpcd: String?

    @Flag(name: .customLong("list"), help: "List the persona IDs and exit.")
    var list = false

    @Flag(name: .customLong("json"), help: "With --list: print a JSON array.")
    var json = false

    func run() async throws {
        if list {
            let ids: [String]
            do { ids = try PersonaCatalog.personaIDs() } catch {
                printError(error.description)
                throw CarteExit.failure
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: ids, options: [])
                printLine(String(decoding: data, as: UTF8.self))
            } else {
                ids.forEach(printLine)
            }
            return
        }
        guard !personas.isEmpty else {
            printError("give at least one --persona ID (see carte simulate --list)")
            throw CarteExit.usage
        }
        guard let vpcd else {
            printError("nothing to attach the cards to: give --vpcd [HOST:]PORT (vpcd's default port is 35963)")
            throw CarteExit.usage
        }
        let address: VPCDAddress
        do { address = try VPCDAddress(parsing: vpcd) } catch {
            printError(error.description)
            throw CarteExit.usage
        }
        // vpcd gives slot N the port PORT + N: every slot must land on a TCP port.
        guard address.port + personas.count - 1 <= 65535 else {
            printError("\(personas.count) cards from port \(address.port) would need port \(address.port + personas.count - 1); vpcd's slots use PORT, PORT + 1, … up to 65535")
            throw CarteExit.usage
        }
        // Build every card first: an unknown persona is a usage error before anything is attached.
        var cards: [any VirtualCard] = []
        for id in personas {
            do { cards.append(try PersonaCatalog.makeCard(persona: id)) } catch {
                printError(error.description)
                throw CarteExit.usage
            }
        }

        let session = SimulationSession(address: address)
        for (i, card) in cards.enumerated() {
            do { try session.attach(slot: i, persona: personas[i], card: card) } catch {
                printError(error.description)
                session.stopAll()
                throw CarteExit.failure
            }
        }
        printLine("simulating \(cards.count) card(s) through vpcd at \(address); stdin: remove N | insert N [PERSONA] | status | quit")

        let (commands, input) = AsyncStream<String>.makeStream()
        let signals = installSignalHandlers { input.yield("quit") }
        startStdinReader { input.yield($0) }
        for await line in commands {
            if !session.handle(commandLine: line) { break }
        }
        session.stopAll()
        signals.forEach { $0.cancel() }
        printLine("simulator stopped")
    }
}

/// The slots of one `carte simulate` run.
final class SimulationSession: @unchecked Sendable {
    let address: VPCDAddress
    private let lock = NSLock()
    private var slots: [Int: (client: VPCDSlotClient, persona: String?)] = [:]

    init(address: VPCDAddress) { self.address = address }

    func port(ofSlot slot: Int) -> Int { address.port + slot }

    func attach(slot: Int, persona: String, card: any VirtualCard) throws(VPCDError) {
        let client = client(forSlot: slot)
        try client.insert(SimulationTranscript.shared?.wrap(card, slot: slot, persona: persona) ?? card)
        lock.withLock {
            slots[slot]?.persona = persona
            lastPersona[slot] = persona
        }
        printLine("slot \(slot) (port \(port(ofSlot: slot))): \(persona) inserted")
    }

    private func client(forSlot slot: Int) -> VPCDSlotClient {
        lock.withLock {
            if let c = slots[slot]?.client { return c }
            let c = VPCDSlotClient(
                host: address.host, port: port(ofSlot: slot),
                events: { event in
                    switch event {
                    case .connected: printLine("slot \(slot): connected to vpcd, the card is in the reader")
                    case .disconnected(_, let why): printLine("slot \(slot): disconnected from vpcd (\(why))")
                    case .waitingForVPCD(let p, let why, let ms):
                        // Only the first attempts are worth a line; back-off caps at 2 s.
                        if ms <= 200 || ms == 2000 { printLine("slot \(slot): vpcd on port \(p) not reachable (\(why)), retrying") }
                    }
                })
            slots[slot] = (c, nil)
            return c
        }
    }

    /// Runs one stdin command; returns false for `quit`.
    func handle(commandLine: String) -> Bool {
        let words = commandLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return true }
        switch verb {
        case "quit", "exit":
            return false
        case "status":
            let all = lock.withLock { slots.sorted { $0.key < $1.key } }
            for (i, s) in all {
                printLine("slot \(i) (port \(port(ofSlot: i))): " + (s.client.hasCard ? (s.persona ?? "card") : "empty"))
            }
        case "remove":
            guard words.count == 2, let n = Int(words[1]), n >= 0 else {
                printLine("usage: remove N")
                return true
            }
            let c = lock.withLock { slots[n]?.client }
            guard let c, c.hasCard else {
                printLine("slot \(n) is already empty")
                return true
            }
            c.remove()
            lock.withLock { slots[n]?.persona = nil }
            printLine("slot \(n): card removed")
        case "insert":
            guard words.count == 2 || words.count == 3, let n = Int(words[1]), n >= 0, n < 64 else {
                printLine("usage: insert N [PERSONA]")
                return true
            }
            let previous = lock.withLock { slots[n]?.persona }
            let lastKnown = lock.withLock { lastPersona[n] }
            guard let persona = words.count == 3 ? words[2] : (previous ?? lastKnown) else {
                printLine("slot \(n): which persona? insert \(n) PERSONA")
                return true
            }
            do {
                let card = try PersonaCatalog.makeCard(persona: persona)
                try attach(slot: n, persona: persona, card: card)
            } catch let e as PersonaCatalog.CatalogError {
                printLine(e.description)
            } catch {
                printLine("\(error)")
            }
        default:
            printLine("unknown command '\(verb)': remove N | insert N [PERSONA] | status | quit")
        }
        return true
    }

    private var lastPersona: [Int: String] = [:]

    func stopAll() {
        let all = lock.withLock { Array(slots.values) }
        all.forEach { $0.client.stop() }
    }
}

/// SIGINT / SIGTERM → `handler` (once per signal), the default action disabled.
private func installSignalHandlers(_ handler: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        src.setEventHandler(handler: handler)
        src.resume()
        return src
    }
}

/// Reads stdin lines on a dedicated thread; at end of input it simply stops reading (a background CI job has no
/// stdin and must keep running).
private func startStdinReader(_ onLine: @escaping @Sendable (String) -> Void) {
    let t = Thread {
        while let line = readLine(strippingNewline: true) { onLine(line) }
    }
    t.name = "carte.simulate.stdin"
    t.start()
}

/// Writes one line on stdout and flushes (status lines must show up at once when piped).
func printLine(_ s: String) {
    let line = Array((s + "\n").utf8)
    line.withUnsafeBytes { p in
        var off = 0
        while off < p.count {
            let n = write(1, p.baseAddress! + off, p.count - off)
            if n <= 0 { break }
            off += n
        }
    }
}
