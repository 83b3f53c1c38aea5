import CardSimulator
import Foundation
import ISO7816
import PCSC
import VirtualPCD

/// The demo's readers through the real pcscd: the simulated cards are attached to pcscd's vpcd driver by the vpcd
/// bridge (`VPCDSlotClient`, `../shared/specs/pcsc-ccid-vpcd-contactless.md` §4.1) and the stack talks to them with
/// `PCSCCard`, as it would to a physical reader.
///
/// vpcd gives two contact slots (`Virtual PCD 00 00` on PORT, `Virtual PCD 00 01` on PORT+1) and no PIN pad:
/// the professional's and the badge's roles share slot 0 (the steps use them one after the other), the patient's
/// reader is slot 1 (slot 0 when there is only one), and the PIN goes through the authenticator's keypad path,
/// typed by the script into a `SecretPIN`. There is no virtual wire clock: wire times are not measured.
public final class PCSCDemoReaderSet: DemoReaderSet, @unchecked Sendable {
    public var backend: String { "pcsc" }
    let readers: [DemoReaderRole: VPCDDemoReader]
    let clients: [VPCDSlotClient]

    init(readers: [DemoReaderRole: VPCDDemoReader], clients: [VPCDSlotClient]) {
        self.readers = readers
        self.clients = clients
    }

    /// Finds vpcd's readers in pcscd and prepares one bridge client per slot used.
    /// - Parameter vpcd: where vpcd listens for slot 0 (default `127.0.0.1:35963`); slot n is on PORT+n.
    /// - Throws: `DemoSetupError.backend` when pcscd cannot be reached or lists no `Virtual PCD` reader (with the
    ///   command that starts a private one).
    public static func make(vpcd: VPCDAddress = VPCDAddress()) async throws(DemoSetupError) -> PCSCDemoReaderSet {
        let hint = "start pcscd with the vpcd driver first: eval \"$(scripts/pcscd-vpcd.sh start)\""
        let snapshot: [PCSCReaderSnapshot]
        do { snapshot = try await pcscReaderSnapshot() } catch {
            throw .backend("pcscd cannot be reached (\(error)); \(hint)")
        }
        let vpcdReaders = snapshot.map(\.name).filter { $0.hasPrefix("Virtual PCD") }.sorted()
        guard let first = vpcdReaders.first else {
            throw .backend("pcscd lists no vpcd reader ('Virtual PCD 00 00'); \(hint)")
        }
        let slot0 = VPCDSlotClient(host: vpcd.host, port: vpcd.port)
        var clients = [slot0]
        let pro = VPCDDemoReader(name: first, client: slot0, interface: .contact)
        let badge = VPCDDemoReader(name: first, client: slot0, interface: .contactless)
        var patient = VPCDDemoReader(name: first, client: slot0, interface: .contact)
        if vpcdReaders.count > 1 {
            let slot1 = VPCDSlotClient(host: vpcd.host, port: vpcd.port + 1)
            clients.append(slot1)
            patient = VPCDDemoReader(name: vpcdReaders[1], client: slot1, interface: .contact)
        }
        return PCSCDemoReaderSet(readers: [.professional: pro, .patient: patient, .badge: badge], clients: clients)
    }

    public func reader(_ role: DemoReaderRole) -> any DemoReader { readers[role]! }

    public func shutdown() async {
        for r in readers.values { await r.remove() }
        for c in clients { c.stop() }
    }
}

/// One role on one vpcd slot: inserting a persona attaches a fresh simulated card to the slot and waits until
/// pcscd sees it; the transport is a new `PCSCCard` for each insertion.
final class VPCDDemoReader: DemoReader, @unchecked Sendable {
    let name: String
    let client: VPCDSlotClient
    let interface: CardInterface
    private let lock = NSLock()
    private var card: PCSCCard

    /// How long to wait for pcscd to see a card arrive or leave (its presence poll is about 400 ms).
    static let settleSeconds = 6.0

    init(name: String, client: VPCDSlotClient, interface: CardInterface) {
        self.name = name
        self.client = client
        self.interface = interface
        self.card = PCSCCard(readerName: name)
    }

    var transport: any CardTransport { lock.withLock { card } }

    var hasPinpad: Bool {
        get async { await transport.capabilities.hasPinpad }
    }

    func insert(persona: String) async throws(DemoSetupError) {
        let virtual: any VirtualCard
        do { virtual = try PersonaCatalog.makeCard(persona: persona, interface: interface) } catch {
            throw .persona(error.description)
        }
        // Take out what the slot holds and let pcscd see the slot empty, so the new card is a new insertion
        // even when its ATR is the same (two CPS3 cards).
        if client.hasCard { await remove() }
        do { try client.insert(virtual) } catch { throw .backend("vpcd bridge: \(error)") }
        let deadline = Date().addingTimeInterval(Self.settleSeconds)
        while Date() < deadline {
            if let s = await state(), s.hasCard, s.atr == virtual.atr {
                lock.withLock { card = PCSCCard(readerName: name) }
                return
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        throw .backend(
            "pcscd did not see the simulated card in '\(name)' within \(Int(Self.settleSeconds)) s (is vpcd listening on \(client.host):\(client.port)?)"
        )
    }

    func remove() async {
        await transport.disconnect(.leave)
        guard client.hasCard else { return }
        client.remove()
        let deadline = Date().addingTimeInterval(Self.settleSeconds)
        while Date() < deadline {
            if let s = await state(), !s.hasCard { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// No PIN pad on vpcd: the PIN goes through the keypad path.
    func scriptPinpad(_ entries: [KeypadEntry]) async {}

    func wireStatistics() async -> WireStatistics? { nil }

    private func state() async -> PCSCReaderSnapshot? {
        (try? await pcscReaderSnapshot())?.first { $0.name == name }
    }
}
