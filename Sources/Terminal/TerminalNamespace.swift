/// Namespace of the `Terminal` module. See `../shared/specs/` for the card and protocol notes it implements.
public enum TerminalModule {
    public static let name = "Terminal"
}
