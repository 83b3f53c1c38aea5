import CLibUSB
import Foundation
import ISO7816

/// A CCID interface found on the USB bus (USB CCID rev 1.10 §4, §5: interface class 0x0B, the class descriptor in
/// the interface's extra bytes or after the last endpoint, bulk-IN, bulk-OUT and optional interrupt-IN endpoints).
public struct CCIDUSBDeviceInfo: Sendable, Hashable {
    public var busNumber: UInt8
    public var deviceAddress: UInt8
    public var vendorID: UInt16
    public var productID: UInt16
    public var interfaceNumber: UInt8
    public var descriptor: CCIDClassDescriptor
    public var bulkInEndpoint: UInt8
    public var bulkOutEndpoint: UInt8
    /// nil when the reader has no interrupt endpoint (slot changes are then polled).
    public var interruptInEndpoint: UInt8?
    /// wMaxPacketSize of bulk-OUT, bytes.
    public var maxPacketSize: Int
    /// The known profile for this VID:PID, if any.
    public var profile: CCIDReaderProfile? { CCIDReaderProfile.matching(vendorID: vendorID, productID: productID) }

    /// A stable, human name: the profile's name or `USB CCID reader VVVV:PPPP (bus B, device D)`.
    public var readerName: String {
        let id = String(format: "%04X:%04X", vendorID, productID)
        return (profile?.name ?? "USB CCID reader \(id)") + " (bus \(busNumber), device \(deviceAddress))"
    }
}

/// Why the USB side could not be used.
public enum CCIDUSBError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libusb could not start: this machine (or container) has no USB subsystem. Not a fault of the caller.
    case usbUnavailable(String)
    /// The system refused to open the device (udev rules, permissions).
    case permissionDenied(String)
    /// The device is gone.
    case deviceGone
    /// Another process (pcscd's CCID driver, usually) holds the interface.
    case interfaceBusy
    case failed(String)

    public var description: String {
        switch self {
        case .usbUnavailable(let why): return "USB is not available on this machine (\(why))"
        case .permissionDenied(let why): return "no permission to open the USB reader: \(why)"
        case .deviceGone: return "the USB reader is gone"
        case .interfaceBusy: return "the reader is in use by another program (is pcscd running?)"
        case .failed(let why): return "USB error: \(why)"
        }
    }

    public var transportError: TransportError {
        switch self {
        case .usbUnavailable: return .readerGone("USB")
        case .permissionDenied(let why): return .permissionDenied(why)
        case .deviceGone: return .readerGone("USB CCID reader")
        case .interfaceBusy: return .busy
        case .failed(let why): return .failed(why)
        }
    }

    static func from(_ code: Int32, _ what: String) -> CCIDUSBError {
        switch code {
        case LIBUSB_ERROR_ACCESS.rawValue: return .permissionDenied(what)
        case LIBUSB_ERROR_NO_DEVICE.rawValue: return .deviceGone
        case LIBUSB_ERROR_BUSY.rawValue: return .interfaceBusy
        default: return .failed("\(what): \(String(cString: libusb_error_name(code)))")
        }
    }
}

/// A libusb context: enumeration and opening of CCID readers.
public final class LibUSBContext: @unchecked Sendable {
    private let context: OpaquePointer

    /// Starts libusb.
    /// - Throws: `CCIDUSBError.usbUnavailable` when libusb_init fails (no USB subsystem at all).
    public init() throws(CCIDUSBError) {
        var ctx: OpaquePointer? = nil
        let rc = libusb_init(&ctx)
        guard rc == 0, let ctx else {
            throw .usbUnavailable("libusb_init: \(String(cString: libusb_error_name(rc)))")
        }
        context = ctx
    }

    deinit { libusb_exit(context) }

    /// Whether libusb delivers hotplug events on this platform (LIBUSB_CAP_HAS_HOTPLUG); otherwise watch by
    /// polling `enumerateReaders()`.
    public static var supportsHotplug: Bool { libusb_has_capability(UInt32(LIBUSB_CAP_HAS_HOTPLUG.rawValue)) != 0 }

    /// Every CCID interface (class 0x0B, protocol 0 = bulk CCID) with a parsable class descriptor and bulk
    /// endpoints. Devices that cannot be inspected are skipped.
    /// - Returns: possibly empty — zero readers is a normal answer.
    /// - Throws: `CCIDUSBError.failed` when the device list itself cannot be read.
    public func enumerateReaders() throws(CCIDUSBError) -> [CCIDUSBDeviceInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>? = nil
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw .from(Int32(count), "libusb_get_device_list") }
        defer { libusb_free_device_list(list, 1) }
        var out: [CCIDUSBDeviceInfo] = []
        for i in 0..<Int(count) {
            guard let dev = list[i] else { continue }
            out += Self.ccidInterfaces(of: dev)
        }
        return out
    }

    static func ccidInterfaces(of dev: OpaquePointer) -> [CCIDUSBDeviceInfo] {
        var dd = libusb_device_descriptor()
        guard libusb_get_device_descriptor(dev, &dd) == 0 else { return [] }
        var configPtr: UnsafeMutablePointer<libusb_config_descriptor>? = nil
        guard libusb_get_active_config_descriptor(dev, &configPtr) == 0, let config = configPtr else { return [] }
        defer { libusb_free_config_descriptor(config) }
        var out: [CCIDUSBDeviceInfo] = []
        for i in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[i]
            guard interface.num_altsetting > 0, let alt = interface.altsetting?.pointee else { continue }
            guard alt.bInterfaceClass == 0x0B, alt.bInterfaceProtocol == 0 else { continue }
            var bulkIn: UInt8? = nil, bulkOut: UInt8? = nil, intr: UInt8? = nil
            var packet = 64
            var afterLastEndpoint: [UInt8] = []
            for e in 0..<Int(alt.bNumEndpoints) {
                guard let ep = alt.endpoint?[e] else { continue }
                let type = ep.bmAttributes & 0x03
                let isIn = ep.bEndpointAddress & 0x80 != 0
                if type == 2 && isIn { bulkIn = ep.bEndpointAddress }
                if type == 2 && !isIn {
                    bulkOut = ep.bEndpointAddress
                    packet = Int(ep.wMaxPacketSize)
                }
                if type == 3 && isIn { intr = ep.bEndpointAddress }
                if e == Int(alt.bNumEndpoints) - 1, let extra = ep.extra, ep.extra_length > 0 {
                    afterLastEndpoint = Array(UnsafeBufferPointer(start: extra, count: Int(ep.extra_length)))
                }
            }
            var extraBytes: [UInt8] = []
            if let extra = alt.extra, alt.extra_length > 0 {
                extraBytes = Array(UnsafeBufferPointer(start: extra, count: Int(alt.extra_length)))
            }
            guard let inEP = bulkIn, let outEP = bulkOut,
                let descriptor = CCIDClassDescriptor.find(in: extraBytes)
                    ?? CCIDClassDescriptor.find(in: afterLastEndpoint)
            else { continue }
            out.append(CCIDUSBDeviceInfo(
                busNumber: libusb_get_bus_number(dev), deviceAddress: libusb_get_device_address(dev),
                vendorID: dd.idVendor, productID: dd.idProduct, interfaceNumber: alt.bInterfaceNumber,
                descriptor: descriptor, bulkInEndpoint: inEP, bulkOutEndpoint: outEP, interruptInEndpoint: intr,
                maxPacketSize: max(8, packet)))
        }
        return out
    }

    /// Opens the reader described by `info` and claims its CCID interface.
    /// - Throws: `CCIDUSBError` (gone, permission denied, interface busy).
    public func open(_ info: CCIDUSBDeviceInfo) throws(CCIDUSBError) -> LibUSBTransferPort {
        var list: UnsafeMutablePointer<OpaquePointer?>? = nil
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw .from(Int32(count), "libusb_get_device_list") }
        defer { libusb_free_device_list(list, 1) }
        for i in 0..<Int(count) {
            guard let dev = list[i], libusb_get_bus_number(dev) == info.busNumber,
                libusb_get_device_address(dev) == info.deviceAddress
            else { continue }
            var handle: OpaquePointer? = nil
            let rc = libusb_open(dev, &handle)
            guard rc == 0, let handle else { throw .from(rc, "libusb_open") }
            let claim = libusb_claim_interface(handle, Int32(info.interfaceNumber))
            guard claim == 0 else {
                libusb_close(handle)
                throw .from(claim, "libusb_claim_interface")
            }
            return LibUSBTransferPort(context: self, handle: handle, info: info)
        }
        throw .deviceGone
    }

    /// Opens `info` and wraps it as a card transport for slot `slot`, with the profile's quirks.
    public func openTransport(_ info: CCIDUSBDeviceInfo, slot: UInt8 = 0, timeouts: CCIDTimeouts = CCIDTimeouts())
        throws(CCIDUSBError) -> CCIDSlotTransport
    {
        let port = try open(info)
        return CCIDSlotTransport(
            port: port, descriptor: info.descriptor, slot: slot, readerName: info.readerName,
            quirks: info.profile?.quirks ?? [], timeouts: timeouts)
    }

    /// Readers appearing and disappearing. Uses libusb hotplug callbacks where the platform has them
    /// (`supportsHotplug`, LIBUSB_CAP_HAS_HOTPLUG; readers present at start come first as `.added`), and polls the
    /// device list every `intervalMs` otherwise. The stream ends when the consumer stops iterating.
    public func readerEvents(intervalMs: Int = 1000) -> AsyncStream<CCIDUSBReaderEvent> {
        if Self.supportsHotplug, let stream = hotplugEvents() { return stream }
        return polledEvents(intervalMs: intervalMs)
    }

    /// Polling fallback: diff of `enumerateReaders()` every `intervalMs`.
    func polledEvents(intervalMs: Int) -> AsyncStream<CCIDUSBReaderEvent> {
        let (stream, continuation) = AsyncStream<CCIDUSBReaderEvent>.makeStream()
        let task = Task { [self] in
            var known: Set<CCIDUSBDeviceInfo> = []
            while !Task.isCancelled {
                guard let now = try? enumerateReaders() else { break }
                let current = Set(now)
                for r in current.subtracting(known) { continuation.yield(.added(r)) }
                for r in known.subtracting(current) { continuation.yield(.removed(r)) }
                known = current
                try? await Task.sleep(nanoseconds: UInt64(max(50, intervalMs)) * 1_000_000)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// libusb hotplug: a callback registered with LIBUSB_HOTPLUG_ENUMERATE, events pumped by one dedicated thread
    /// (`libusb_handle_events_timeout_completed`, 200 ms slices so that stopping is prompt).
    func hotplugEvents() -> AsyncStream<CCIDUSBReaderEvent>? {
        let (stream, continuation) = AsyncStream<CCIDUSBReaderEvent>.makeStream()
        let box = HotplugState(continuation)
        let user = Unmanaged.passRetained(box)
        var handle: libusb_hotplug_callback_handle = 0
        let callback: libusb_hotplug_callback_fn = { _, device, event, userData in
            guard let device, let userData else { return 0 }
            Unmanaged<HotplugState>.fromOpaque(userData).takeUnretainedValue().handle(device, event)
            return 0
        }
        let events = Int32(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED.rawValue | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT.rawValue)
        let rc = libusb_hotplug_register_callback(
            context, events, Int32(LIBUSB_HOTPLUG_ENUMERATE.rawValue), LIBUSB_HOTPLUG_MATCH_ANY,
            LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, callback, user.toOpaque(), &handle)
        guard rc == 0 else {
            user.release()
            return nil
        }
        let registered = handle
        let thread = Thread { [self] in
            while !box.isStopped {
                var slice = timeval(tv_sec: 0, tv_usec: 200_000)
                _ = libusb_handle_events_timeout_completed(context, &slice, nil)
            }
            libusb_hotplug_deregister_callback(context, registered)
            user.release()
            continuation.finish()
        }
        thread.name = "carte.ccid.hotplug"
        continuation.onTermination = { _ in box.stop() }
        thread.start()
        return stream
    }
}

/// State shared between the libusb hotplug callback (on the event thread) and the stream's consumer.
final class HotplugState: @unchecked Sendable {
    private let lock = NSLock()
    private let continuation: AsyncStream<CCIDUSBReaderEvent>.Continuation
    private var known: [String: [CCIDUSBDeviceInfo]] = [:]
    private var stopped = false

    init(_ c: AsyncStream<CCIDUSBReaderEvent>.Continuation) { continuation = c }

    var isStopped: Bool { lock.withLock { stopped } }
    func stop() { lock.withLock { stopped = true } }

    func handle(_ device: OpaquePointer, _ event: libusb_hotplug_event) {
        let key = "\(libusb_get_bus_number(device)):\(libusb_get_device_address(device))"
        if event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED {
            let readers = LibUSBContext.ccidInterfaces(of: device)
            guard !readers.isEmpty else { return }
            let isNew = lock.withLock { () -> Bool in
                defer { known[key] = readers }
                return known[key] == nil
            }
            if isNew { for r in readers { continuation.yield(.added(r)) } }
        } else {
            let gone = lock.withLock { known.removeValue(forKey: key) } ?? []
            for r in gone { continuation.yield(.removed(r)) }
        }
    }
}

/// A CCID reader arriving or leaving.
public enum CCIDUSBReaderEvent: Sendable, Hashable {
    case added(CCIDUSBDeviceInfo)
    case removed(CCIDUSBDeviceInfo)
}

extension CCIDUSB {
    /// Lists the CCID readers on this machine.
    /// - Returns: possibly empty (no reader plugged in is a normal answer).
    /// - Throws: `CCIDUSBError.usbUnavailable` when this machine has no USB subsystem at all.
    public static func enumerateReaders() throws(CCIDUSBError) -> [CCIDUSBDeviceInfo] {
        try LibUSBContext().enumerateReaders()
    }
}

/// Namespace for the USB entry points.
public enum CCIDUSB {}

/// The libusb implementation of `CCIDTransferPort`: blocking libusb transfers run on a dedicated serial queue per
/// reader, so a stuck reader never blocks another one nor Swift's cooperative threads.
public final class LibUSBTransferPort: CCIDTransferPort, @unchecked Sendable {
    private let context: LibUSBContext
    private let handle: OpaquePointer
    public let info: CCIDUSBDeviceInfo
    private let queue: DispatchQueue

    init(context: LibUSBContext, handle: OpaquePointer, info: CCIDUSBDeviceInfo) {
        self.context = context
        self.handle = handle
        self.info = info
        queue = DispatchQueue(label: "carte.ccid.usb.\(info.busNumber).\(info.deviceAddress)")
    }

    deinit {
        libusb_release_interface(handle, Int32(info.interfaceNumber))
        libusb_close(handle)
    }

    public var maxPacketSize: Int { info.maxPacketSize }

    private static func error(_ rc: Int32) -> CCIDTransferError {
        switch rc {
        case LIBUSB_ERROR_TIMEOUT.rawValue: return .timeout
        case LIBUSB_ERROR_NO_DEVICE.rawValue: return .disconnected
        case LIBUSB_ERROR_PIPE.rawValue: return .stall
        case LIBUSB_ERROR_ACCESS.rawValue: return .permissionDenied("libusb transfer")
        default: return .failed(String(cString: libusb_error_name(rc)))
        }
    }

    private func run(_ body: @escaping @Sendable () -> Result<[UInt8], CCIDTransferError>) async
        -> Result<[UInt8], CCIDTransferError>
    {
        await withCheckedContinuation { c in queue.async { c.resume(returning: body()) } }
    }

    public func bulkOut(_ data: [UInt8], timeoutMs: Int) async throws(CCIDTransferError) {
        let box = UncheckedHandle(handle), ep = info.bulkOutEndpoint
        _ = try await run {
            var buffer = data
            var transferred: Int32 = 0
            let rc = buffer.withUnsafeMutableBufferPointer {
                libusb_bulk_transfer(box.handle, ep, $0.baseAddress, Int32($0.count), &transferred, UInt32(max(1, timeoutMs)))
            }
            return rc == 0 ? .success([]) : .failure(Self.error(rc))
        }.get()
    }

    public func bulkIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        let box = UncheckedHandle(handle), ep = info.bulkInEndpoint
        // A whole number of packets, so that a full last packet never overflows the buffer (LIBUSB_ERROR_OVERFLOW).
        let packet = max(8, info.maxPacketSize)
        let size = (max(64, maxLength) + packet - 1) / packet * packet
        return try await run {
            var buffer = [UInt8](repeating: 0, count: size)
            var transferred: Int32 = 0
            let rc = buffer.withUnsafeMutableBufferPointer {
                libusb_bulk_transfer(box.handle, ep, $0.baseAddress, Int32($0.count), &transferred, UInt32(max(1, timeoutMs)))
            }
            return rc == 0 ? .success(Array(buffer[..<Int(transferred)])) : .failure(Self.error(rc))
        }.get()
    }

    public func interruptIn(maxLength: Int, timeoutMs: Int) async throws(CCIDTransferError) -> [UInt8] {
        guard let ep = info.interruptInEndpoint else { throw .noInterruptEndpoint }
        let box = UncheckedHandle(handle)
        return try await run {
            var buffer = [UInt8](repeating: 0, count: max(8, maxLength))
            var transferred: Int32 = 0
            let rc = buffer.withUnsafeMutableBufferPointer {
                libusb_interrupt_transfer(box.handle, ep, $0.baseAddress, Int32($0.count), &transferred, UInt32(max(1, timeoutMs)))
            }
            return rc == 0 ? .success(Array(buffer[..<Int(transferred)])) : .failure(Self.error(rc))
        }.get()
    }
}

private struct UncheckedHandle: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ h: OpaquePointer) { handle = h }
}
