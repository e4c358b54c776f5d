import IR

/// Dead-code elimination: drops every node that no output depends on.
///
/// Parameters and inputs are always kept, even when unused, so that a program's feeding interface
/// (the names and shapes the runtime fills) does not depend on which optimisations ran: a training
/// loop that feeds `"lr"` keeps working on a graph where the learning rate happened to fold away.
/// The surviving nodes keep their relative order and locations; outputs keep their names and order.
public enum DCE {
    public static func run(_ g: Graph) throws -> Graph {
        try compact(g, keep: g.live())
    }
}
