/// A bad graph, an unknown layer, or an input that does not fit the model, by kind, with what it
/// concerns. Every case prints as one line naming the node, layer, metadata key or input.
public enum NetworkError: Error, CustomStringConvertible, Equatable {
    /// A node that cannot run: its name, its op (nil where the node is not checked by op yet) and why.
    case node(name: String, op: String?, problem: String)
    /// A graph output no node produces.
    case missingOutput(name: String)
    /// A `reverie.*` metadata entry that does not fit the graph: its key and why.
    case metadata(key: String, problem: String)
    /// A layer the network does not have, with the names it does.
    case unknownLayer(name: String, valid: [String])
    /// A value of the file that comes after an op Reverie does not run, with that op's error line.
    case unavailableLayer(name: String, reason: String)
    /// An input (or its gradient buffer) that does not fit the model.
    case input(problem: String)
    /// A seed function that returned a gradient of the wrong shape for its layer.
    case seedShape(layer: String, got: [Int], expected: [Int])

    /// The one line this error prints as.
    public var description: String {
        switch self {
        case let .node(name, op?, problem): "node \(name) (\(op)): \(problem)"
        case let .node(name, nil, problem): "node \(name): \(problem)"
        case let .missingOutput(name): "graph output \"\(name)\" is not produced by any node"
        case let .metadata(key, problem): "metadata \(key) \(problem)"
        case let .unknownLayer(name, valid): "unknown layer \"\(name)\"; valid names: \(valid.joined(separator: ", "))"
        case let .unavailableLayer(name, reason): "layer \"\(name)\" cannot be computed: \(reason)"
        case let .input(problem): problem
        case let .seedShape(layer, got, expected): "seed for layer \(layer) returned a gradient of shape \(got), expected \(expected)"
        }
    }
}
