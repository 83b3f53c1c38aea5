/// The `Badges` module: local contactless badges read through a PC/SC contactless reader
/// (`../shared/specs/pcsc-ccid-vpcd-contactless.md` §7).
///
/// - `BadgeSession` (actor) over a `CardTransport`: `readUID()` (PC/SC part 3 `FF CA 00 00 00`, contactless slots
///   only), DESFire `getVersion()`, `getApplicationIDs()`, `selectApplication(aid:)`,
///   `authenticateAES(keyNumber:key:)`, `readData(file:offset:length:)` with the EV1 session CMAC, and the whole
///   `authenticateBadge(siteMasterKey:layout:)` flow in one transaction.
/// - `BadgeIdentity` / `BadgeAssurance`: a UID alone is assurance `.none` and never authenticates anybody.
/// - `BadgeApplicationLayout` and `BadgeFileContent`: where Carte badges keep their data (our design `[D]`).
/// - `DESFire`: native command wrapping and the AES session arithmetic; `DESFireVersion`: GetVersion parsed.
/// - Key diversification is NXP AN10922 in `CarteCrypto` (`AN10922.diversifyAES128`), shared with the simulator.
public enum BadgesModule {
    public static let name = "Badges"
}
