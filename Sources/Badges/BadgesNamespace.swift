/// Namespace of the `Badges` module. See `../shared/specs/` for the card and protocol notes it implements.
public enum BadgesModule {
    public static let name = "Badges"
}
