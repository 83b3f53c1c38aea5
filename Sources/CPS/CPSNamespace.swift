/// Namespace of the `CPS` module. See `../shared/specs/` for the card and protocol notes it implements.
public enum CPSModule {
    public static let name = "CPS"
}
