/// Namespace of the `Authentication` module. See `../shared/specs/` for the card and protocol notes it implements.
public enum AuthenticationModule {
    public static let name = "Authentication"
}
