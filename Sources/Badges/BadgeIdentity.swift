/// How much a badge read proves.
public enum BadgeAssurance: String, Sendable, Hashable {
    /// Nothing: only a UID was read. A UID can be copied; it never authenticates anybody.
    case none
    /// The badge proved it holds its AES key diversified from the site master key (DESFire AuthenticateAES,
    /// mutual), and its content was read under the session CMAC.
    case desfireAES = "desfire-aes"
}

/// What a badge says about its holder.
public struct BadgeIdentity: Sendable, Hashable {
    /// The card UID (4, 7 or 10 bytes).
    public var uid: [UInt8]
    /// The badge number written in the badge file (e.g. "B-000417"); nil for a UID-only badge.
    public var badgeNumber: String?
    /// The holder reference written in the badge file (a persona / staff identifier); nil for a UID-only badge.
    public var holder: String?
    /// What this read proves; only `.desfireAES` may be used for an authentication decision.
    public var assurance: BadgeAssurance

    public init(uid: [UInt8], badgeNumber: String?, holder: String?, assurance: BadgeAssurance) {
        self.uid = uid
        self.badgeNumber = badgeNumber
        self.holder = holder
        self.assurance = assurance
    }
}
