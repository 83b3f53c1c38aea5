/// vpcd control messages, host (pcscd's vpcd driver) to card: a 1-byte payload
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §4.1). Power off, on and reset expect no reply; get-ATR expects
/// one length-prefixed ATR.
public enum VPCDControl: UInt8, Sendable {
    case powerOff = 0x00
    case powerOn = 0x01
    case reset = 0x02
    case getATR = 0x04
}
