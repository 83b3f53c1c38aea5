import CardSimulator
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line of a vpcd slot's transcript (the transcript hook sees every exchange, in order).
public enum VPCDTranscriptEntry: Sendable, Hashable {
    /// A control message from vpcd (power off / on, reset, get ATR) and, for get ATR, the ATR sent back.
    case control(VPCDControl, reply: [UInt8]?)
    /// A C-APDU from vpcd and the R-APDU the card answered.
    case exchange(command: [UInt8], response: [UInt8])
}

/// Lifecycle of a vpcd slot, for status lines and tests.
public enum VPCDSlotEvent: Sendable, Hashable, CustomStringConvertible {
    /// Connected to vpcd: pcscd will see the card within one presence poll (about 400 ms).
    case connected(port: Int)
    /// The connection ended (card removed on purpose, or pcscd went away).
    case disconnected(port: Int, reason: String)
    /// vpcd cannot be reached; the next attempt is in `retryInMilliseconds` ms.
    case waitingForVPCD(port: Int, reason: String, retryInMilliseconds: Int)

    public var description: String {
        switch self {
        case .connected(let p): return "slot on port \(p): card inserted (connected to vpcd)"
        case .disconnected(let p, let r): return "slot on port \(p): card out (\(r))"
        case .waitingForVPCD(let p, let r, let ms): return "slot on port \(p): vpcd not reachable (\(r)), retrying in \(ms) ms"
        }
    }
}

/// Connects one `VirtualCard` to one slot of pcscd's vpcd driver over TCP, as vsmartcard's `vicc` does
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §4.1): vpcd listens on `port` (35963 for slot 0, 35963+n for
/// slot n); "insert the card" = connect, "remove the card" = close the socket.
///
/// Runs on its own thread with blocking POSIX sockets (never on Swift's cooperative pool). When pcscd restarts,
/// the connection drops and the client reconnects with back-off (100 ms doubling to 2 s) as long as a card is
/// inserted. Frames split or coalesced across TCP reads are reassembled by `VPCDFrameParser`.
public final class VPCDSlotClient: Sendable {
    private let core: VPCDSlotCore

    /// The vpcd host (default loopback).
    public var host: String { core.host }
    /// The TCP port of this slot.
    public var port: Int { core.port }

    /// - Parameters:
    ///   - host: IPv4/IPv6 address or name of the vpcd host (default `127.0.0.1`).
    ///   - port: the slot's TCP port (35963 + slot index with Debian's `/etc/reader.conf.d/vpcd`).
    ///   - transcript: called on the slot thread for every control message and APDU exchange.
    ///   - events: called on the slot thread when the connection state changes.
    public init(
        host: String = "127.0.0.1", port: Int = 35963,
        transcript: (@Sendable (VPCDTranscriptEntry) -> Void)? = nil,
        events: (@Sendable (VPCDSlotEvent) -> Void)? = nil
    ) {
        core = VPCDSlotCore(host: host, port: port, transcript: transcript, events: events)
    }

    /// Releasing the client removes its card and ends its thread.
    deinit { core.stop() }

    /// True while a card is inserted (the client connects, or keeps trying to).
    public var hasCard: Bool { core.hasCard }

    /// Inserts `card`: the slot thread connects to vpcd. Replaces (removes) a card already inserted. The card is
    /// then used only on the slot thread.
    /// - Throws: `VPCDError.atrTooLong` when the card's ATR exceeds 33 bytes (ISO/IEC 7816-3 §8.2.1).
    public func insert(_ card: any VirtualCard) throws(VPCDError) { try core.insert(card) }

    /// Removes the card: the socket is closed, pcscd sees the slot empty at its next presence poll (≈ 400 ms).
    public func remove() { core.remove() }

    /// Removes the card and ends the slot thread.
    public func stop() { core.stop() }
}

/// The slot thread and its state; the public `VPCDSlotClient` stops it when released.
final class VPCDSlotCore: @unchecked Sendable {
    /// The vpcd host (default loopback).
    public let host: String
    /// The TCP port of this slot.
    public let port: Int

    private let cond = NSCondition()
    // All fields below are guarded by `cond`.
    private var card: (any VirtualCard)?
    private var generation = 0
    private var stopped = false
    private var started = false
    /// True while the slot thread runs; `stop()` waits for it to clear, so no slot thread outlives its client.
    private var threadRunning = false
    private var socketFD: Int32 = -1
    private let transcript: (@Sendable (VPCDTranscriptEntry) -> Void)?
    private let events: (@Sendable (VPCDSlotEvent) -> Void)?

    /// - Parameters:
    ///   - host: IPv4/IPv6 address or name of the vpcd host (default `127.0.0.1`).
    ///   - port: the slot's TCP port (35963 + slot index with Debian's `/etc/reader.conf.d/vpcd`).
    ///   - transcript: called on the slot thread for every control message and APDU exchange.
    ///   - events: called on the slot thread when the connection state changes.
    public init(
        host: String = "127.0.0.1", port: Int = 35963,
        transcript: (@Sendable (VPCDTranscriptEntry) -> Void)? = nil,
        events: (@Sendable (VPCDSlotEvent) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.transcript = transcript
        self.events = events
    }

    /// True while a card is inserted (the client connects, or keeps trying to).
    public var hasCard: Bool {
        cond.lock()
        defer { cond.unlock() }
        return card != nil
    }

    /// Inserts `card`: the slot thread connects to vpcd. Replaces (removes) a card already inserted.
    /// - Throws: `VPCDError.atrTooLong` when the card's ATR exceeds 33 bytes (ISO/IEC 7816-3 §8.2.1).
    public func insert(_ card: any VirtualCard) throws(VPCDError) {
        guard card.atr.count <= 33 else { throw .atrTooLong(card.atr.count) }
        cond.lock()
        self.card = card
        generation += 1
        if socketFD >= 0 { _ = shutdown(socketFD, Int32(SHUT_RDWR)) }
        let needStart = !started
        started = true
        cond.broadcast()
        cond.unlock()
        if needStart { startThread() }
    }

    /// Removes the card: the socket is closed, pcscd sees the slot empty at its next presence poll.
    public func remove() {
        cond.lock()
        card = nil
        generation += 1
        if socketFD >= 0 { _ = shutdown(socketFD, Int32(SHUT_RDWR)) }
        cond.broadcast()
        cond.unlock()
    }

    /// Removes the card and ends the slot thread; returns once the thread has finished (at most 2 s), so that
    /// nothing still runs on it when the process exits.
    public func stop() {
        cond.lock()
        stopped = true
        card = nil
        generation += 1
        if socketFD >= 0 { _ = shutdown(socketFD, Int32(SHUT_RDWR)) }
        cond.broadcast()
        if Thread.current.name != "carte.vpcd.\(port)" {
            let deadline = Date().addingTimeInterval(2)
            while threadRunning {
                if !cond.wait(until: deadline) { break }
            }
        }
        cond.unlock()
    }

    private func startThread() {
        cond.lock()
        threadRunning = true
        cond.unlock()
        let t = Thread { [self] in
            self.runLoop()
            self.cond.lock()
            self.threadRunning = false
            self.cond.broadcast()
            self.cond.unlock()
        }
        t.name = "carte.vpcd.\(port)"
        t.start()
    }

    // MARK: - Slot thread

    private func runLoop() {
        var backoffMs = 100
        while true {
            cond.lock()
            while !stopped && card == nil { cond.wait() }
            if stopped {
                cond.unlock()
                return
            }
            let gen = generation
            guard let current = card else {
                cond.unlock()
                continue
            }
            cond.unlock()

            let fd: Int32
            switch Self.connectTCP(host: host, port: port) {
            case .success(let s): fd = s
            case .failure(let e):
                events?(.waitingForVPCD(port: port, reason: e.description, retryInMilliseconds: backoffMs))
                waitUnlessChanged(generation: gen, milliseconds: backoffMs)
                backoffMs = min(backoffMs * 2, 2000)
                continue
            }
            cond.lock()
            if gen != generation || stopped {
                cond.unlock()
                _ = close(fd)
                continue
            }
            socketFD = fd
            cond.unlock()
            backoffMs = 100
            events?(.connected(port: port))
            let reason = serve(fd: fd, card: current)
            cond.lock()
            socketFD = -1
            let removedOnPurpose = gen != generation || stopped
            cond.unlock()
            _ = close(fd)
            events?(.disconnected(port: port, reason: removedOnPurpose ? "removed" : reason))
            if !removedOnPurpose {
                // pcscd went away: wait a little before reconnecting.
                waitUnlessChanged(generation: gen, milliseconds: backoffMs)
                backoffMs = min(backoffMs * 2, 2000)
            }
        }
    }

    private func waitUnlessChanged(generation gen: Int, milliseconds: Int) {
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        cond.lock()
        while generation == gen && !stopped {
            if !cond.wait(until: deadline) { break }
        }
        cond.unlock()
    }

    /// Serves one connection until it ends; returns why it ended.
    private func serve(fd: Int32, card: any VirtualCard) -> String {
        var parser = VPCDFrameParser()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            #if os(Linux)
                // vpcd writes a frame's 2-byte length and its payload separately without TCP_NODELAY: Nagle holds
                // the payload until the length is acknowledged, and a delayed ACK costs ~40 ms per APDU. Linux
                // resets TCP_QUICKACK after use, so it is set again after every read.
                var quick: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &quick, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if n == 0 { return "vpcd closed the connection" }
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            for payload in parser.append(buf[0..<n]) {
                var reply: [UInt8]? = nil
                switch VPCDMessage(payload: payload) {
                case .control(.powerOff):
                    card.powerOff()
                    transcript?(.control(.powerOff, reply: nil))
                case .control(.powerOn):
                    card.powerOn()
                    transcript?(.control(.powerOn, reply: nil))
                case .control(.reset):
                    card.reset()
                    transcript?(.control(.reset, reply: nil))
                case .control(.getATR):
                    reply = card.atr
                    transcript?(.control(.getATR, reply: card.atr))
                case .apdu(let command):
                    let response = card.process(command)
                    transcript?(.exchange(command: command, response: response))
                    reply = response
                case .unknownControl, .empty:
                    break
                }
                if let reply {
                    guard let framed = try? VPCDFrameParser.frame(reply) else { return "response too long" }
                    if !Self.sendAll(fd: fd, framed) { return "write failed" }
                }
            }
        }
    }

    private static func sendAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in
                send(fd, p.baseAddress! + off, p.count - off, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    struct SocketError: Error, CustomStringConvertible { var description: String }

    static func connectTCP(host: String, port: Int) -> Result<Int32, SocketError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var res: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            return .failure(SocketError(description: String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                if connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    return .success(fd)
                }
                lastError = String(cString: strerror(errno))
                _ = close(fd)
            }
            ai = a.pointee.ai_next
        }
        return .failure(SocketError(description: lastError))
    }
}

/// A `[HOST:]PORT` vpcd address (`carte simulate --vpcd`), default `127.0.0.1:35963`.
public struct VPCDAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public static let defaultPort = 35963

    public init(host: String = "127.0.0.1", port: Int = VPCDAddress.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses `PORT`, `HOST:PORT`, `[IPv6]:PORT` or `HOST` (default port).
    /// - Throws: `VPCDError.invalidAddress`.
    public init(parsing text: String) throws(VPCDError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { throw .invalidAddress(text) }
        var host = "127.0.0.1"
        var portText: Substring? = nil
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { throw .invalidAddress(text) }
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            if rest.hasPrefix(":") { portText = rest.dropFirst() } else if !rest.isEmpty { throw .invalidAddress(text) }
        } else if let colon = t.lastIndex(of: ":"), t.firstIndex(of: ":") == colon {
            host = String(t[..<colon])
            portText = t[t.index(after: colon)...]
            if host.isEmpty { host = "127.0.0.1" }
        } else if t.allSatisfy(\.isNumber) {
            portText = Substring(t)
        } else {
            host = t
        }
        var port = VPCDAddress.defaultPort
        if let p = portText {
            guard let v = Int(p), (1...65535).contains(v) else { throw .invalidAddress(text) }
            port = v
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
