import Foundation
import INS
import ISO7816
import Vitale

/// The patient flow over the Vitale module: `VitaleSession.readCard` (vitale.md §6), INS-C through `VitaleINSC`,
/// rights checked at today's date, then the values the service publishes (NIR and INS masked).
public enum VitaleCardFlow {
    /// Reads the carte Vitale behind `transport` (already holding the card; `connect` is done here).
    /// - Returns: `.patientIdentified`, `.cardRemoved` when the card left during the read, `.refused(.notRecognised)`
    ///   for another card, `.refused(.readFailed)` for damaged data or a blocked card.
    public static func identify(
        transport: any CardTransport, today: Date = Date(),
        progress: @escaping @Sendable (CardFlowProgress) async -> Void
    ) async -> CardFlowOutcome {
        let careDate = vitaleDay(today)
        let card: VitaleCard
        do {
            card = VitaleINSC.applied(to: try await VitaleSession(transport: transport).readCard(careDate: careDate))
        } catch {
            switch error {
            case .cardRemoved: return .cardRemoved
            case .transport(let t):
                switch t {
                case .cardRemoved, .noCard, .readerGone: return .cardRemoved
                default: return .refused(.readFailed)
                }
            case .notAVitaleCard: return .refused(.notRecognised)
            default: return .refused(.readFailed)
            }
        }
        await progress(.recognised(card.kind == .vitale1 ? .vitale1 : .vitale2, isTestCard: card.isTestCard))
        return .patientIdentified(identification(card))
    }

    /// The published form of a card read: masked NIRs, INS (NIR certifié) and INS-C masked, rights at the care date.
    public static func identification(_ card: VitaleCard) -> PatientIdentification {
        let beneficiaries = card.beneficiaries.map { b in
            PatientBeneficiary(
                nom: b.nomUsuel, prenom: b.prenom, dateNaissance: b.dateNaissance.raw, rang: b.rang,
                nirMasked: NIR.mask(b.nirCertifie ?? b.nir ?? card.insured.nir),
                insMasked: b.nirCertifie.map { NIR.mask($0) }, inscMasked: b.insc.map(maskINSC),
                insReason: b.nirCertifie == nil && b.insc == nil ? b.inscReason : nil,
                rightsOpen: b.rightsOpen(at: card.careDate).isOpen)
        }
        let chosen = card.beneficiaries.firstIndex { $0.qualite == "00" } ?? (beneficiaries.isEmpty ? nil : 0)
        return PatientIdentification(
            serial: card.serial ?? "", beneficiaries: beneficiaries, insuredNIR: card.insured.nir, chosen: chosen)
    }

    /// An INS-C (22 digits, ins.md §1.2) shown as its first 2 and last 2 digits.
    public static func maskINSC(_ insc: String) -> String {
        guard insc.count > 6 else { return String(repeating: "•", count: insc.count) }
        return String(insc.prefix(2)) + String(repeating: "•", count: insc.count - 4) + String(insc.suffix(2))
    }

    /// The care date: the day in Europe/Paris at `d` (`CivilTime.parisDay`).
    static func vitaleDay(_ d: Date) -> VitaleDay { CivilTime.parisDay(d) }
}
