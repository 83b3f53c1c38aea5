/// Namespace of the `Vitale` module. See `../shared/specs/` for the card and protocol notes it implements.
public enum VitaleModule {
    public static let name = "Vitale"
}
