// libFuzzer target: USB CCID (CCID rev 1.1): RDR_to_PC messages (§6.2), the class descriptor (§5.1), slot-change
// interrupts (§6.3.1) and the protocol data structures of RDR_to_PC_Parameters.
import CCID
import ISO7816

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCCID(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let b = fuzzBytes(data, size)
    if let r = try? CCIDResponse(decoding: b) {
        _ = r.iccStatus
        _ = r.commandStatus
    }
    if let d = try? CCIDClassDescriptor(decoding: b) {
        _ = d
    }
    _ = CCIDSlotChange.decode(b, maxSlotIndex: b.first.map { Int($0 & 0x0F) } ?? 0)
    return 0
}
