/// CCID bulk message types, bMessageType (USB CCID rev 1.10 §6.1, §6.2; `../shared/specs/pcsc-ccid-vpcd-contactless.md` §3.4).
public enum CCIDMessageType: UInt8, Sendable {
    case pcToRdrIccPowerOn = 0x62
    case pcToRdrIccPowerOff = 0x63
    case pcToRdrGetSlotStatus = 0x65
    case pcToRdrXfrBlock = 0x6F
    case pcToRdrGetParameters = 0x6C
    case pcToRdrResetParameters = 0x6D
    case pcToRdrSetParameters = 0x61
    case pcToRdrEscape = 0x6B
    case pcToRdrSecure = 0x69
    case pcToRdrAbort = 0x72
    case rdrToPcDataBlock = 0x80
    case rdrToPcSlotStatus = 0x81
    case rdrToPcParameters = 0x82
    case rdrToPcEscape = 0x83
    case rdrToPcNotifySlotChange = 0x50
    case rdrToPcHardwareError = 0x51
}
