import Foundation
import ISO7816
import PCSC

/// The PC/SC reader monitor (PCSC module, `PCSCReaderMonitor`) as a `ReaderEventSource`. The pinpad capability of
/// each new reader comes from its PC/SC part 10 features (`PCSCCard.capabilities`).
public struct PCSCReaderSource: ReaderEventSource {
    let monitor: PCSCReaderMonitor

    public init(monitor: PCSCReaderMonitor = PCSCReaderMonitor()) { self.monitor = monitor }

    public func events() -> AsyncStream<ReaderHardwareEvent> {
        let monitor = self.monitor
        return AsyncStream { continuation in
            let task = Task {
                var mapper = PCSCEventMapper()
                for await e in monitor {
                    for out in mapper.map(e) {
                        if case .readerAdded(let d) = out {
                            let caps = await PCSCCard(readerName: d.name).capabilities
                            continuation.yield(.readerAdded(ReaderDescriptor(
                                name: d.name, hasPinpad: caps.hasPinpad, isContactless: caps.isContactless)))
                        } else {
                            continuation.yield(out)
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Maps PC/SC monitor events to the service's: a snapshot becomes the departures of readers no longer listed, the
/// arrivals of new ones and an insertion per card present (after a pcscd restart the service's readers are idle
/// again, so present cards are reported anew); a mute card is an insertion with an empty ATR. Arrivals carry a
/// descriptor with the name only (capabilities are looked up by the source).
public struct PCSCEventMapper: Sendable {
    var known: Set<String> = []

    public init() {}

    public mutating func map(_ event: PCSCReaderEvent) -> [ReaderHardwareEvent] {
        switch event {
        case .snapshot(let readers):
            var out: [ReaderHardwareEvent] = []
            let names = Set(readers.map(\.name))
            for gone in known.subtracting(names).sorted() { out.append(.readerRemoved(gone)) }
            for r in readers {
                if !known.contains(r.name) { out.append(.readerAdded(ReaderDescriptor(name: r.name))) }
                if r.hasCard { out.append(.cardInserted(reader: r.name, atr: r.state == .mute ? [] : r.atr)) }
            }
            known = names
            return out
        case .readerAdded(let name):
            guard !known.contains(name) else { return [] }
            known.insert(name)
            return [.readerAdded(ReaderDescriptor(name: name))]
        case .readerRemoved(let name):
            guard known.remove(name) != nil else { return [] }
            return [.readerRemoved(name)]
        case .cardInserted(let reader, let atr): return [.cardInserted(reader: reader, atr: atr)]
        case .cardRemoved(let reader): return [.cardRemoved(reader: reader)]
        case .cardMute(let reader): return [.cardInserted(reader: reader, atr: [])]
        case .monitoringDegraded(let reason): return [.monitoringDegraded(reason: reason)]
        case .monitoringRestored: return [.monitoringRestored]
        }
    }
}
