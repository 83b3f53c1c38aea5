import CardSimulator
import Foundation

/// `CARTE_TRANSCRIPT=PATH` for `carte simulate`: every card attached to vpcd is wrapped so that its exchanges are
/// counted, and PATH is rewritten (atomically) after each APDU with a JSON summary per slot:
/// `{"slots":[{"slot":0,"persona":"cps3-durand","apdus":N,"bytesToCard":N,"bytesFromCard":N,
/// "virtualMilliseconds":X}]}`. Virtual time is the ISO/IEC 7816-3 T=0 line time at 4 MHz, Fi/Di 372/1
/// (`WireClock`). Only counts are written: never APDU bytes, so no PIN can leak.
final class SimulationTranscript: @unchecked Sendable {
    static let shared: SimulationTranscript? = {
        guard let p = ProcessInfo.processInfo.environment["CARTE_TRANSCRIPT"], !p.isEmpty else { return nil }
        return SimulationTranscript(path: p)
    }()

    let path: String
    private let lock = NSLock()
    private var slots: [Int: (persona: String, stats: WireStatistics)] = [:]

    init(path: String) { self.path = path }

    /// Wraps `card` for slot `slot` (a fresh card resets the slot's counters).
    func wrap(_ card: any VirtualCard, slot: Int, persona: String) -> any VirtualCard {
        lock.withLock { slots[slot] = (persona, WireStatistics()) }
        write()
        return CountingCard(inner: card) { [weak self] command, response in
            self?.record(slot: slot, command: command, response: response)
        }
    }

    private func record(slot: Int, command: [UInt8], response: [UInt8]) {
        lock.withLock {
            guard var s = slots[slot] else { return }
            s.stats.apduCount += 1
            s.stats.bytesToCard += command.count
            s.stats.bytesFromCard += response.count
            s.stats.virtualNanoseconds += WireClock.exchangeNanoseconds(
                command: command, response: response, parameters: WireParameters())
            slots[slot] = s
        }
        write()
    }

    private func write() {
        let entries: [[String: Any]] = lock.withLock {
            slots.sorted { $0.key < $1.key }.map { slot, s in
                [
                    "slot": slot, "persona": s.persona, "apdus": s.stats.apduCount, "bytesToCard": s.stats.bytesToCard,
                    "bytesFromCard": s.stats.bytesFromCard,
                    "virtualMilliseconds": (s.stats.virtualMilliseconds * 1000).rounded() / 1000,
                ]
            }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: ["slots": entries], options: [.sortedKeys])
        else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// A card that reports each exchange to `observer` and otherwise behaves exactly like `inner`.
final class CountingCard: ContactlessCapableCard {
    let inner: any VirtualCard
    let observer: ([UInt8], [UInt8]) -> Void

    init(inner: any VirtualCard, observer: @escaping ([UInt8], [UInt8]) -> Void) {
        self.inner = inner
        self.observer = observer
    }

    var atr: [UInt8] { inner.atr }
    var contactless: ContactlessInterface? { (inner as? any ContactlessCapableCard)?.contactless }
    var hasContactInterface: Bool { (inner as? any ContactlessCapableCard)?.hasContactInterface ?? true }
    func powerOn() { inner.powerOn() }
    func powerOff() { inner.powerOff() }
    func reset() { inner.reset() }
    func process(_ command: [UInt8]) -> [UInt8] {
        let r = inner.process(command)
        observer(command, r)
        return r
    }
}
