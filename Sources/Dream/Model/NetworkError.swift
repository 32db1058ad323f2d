/// A bad graph, an unknown layer, or an input that does not fit the model.
public struct NetworkError: Error, CustomStringConvertible, Equatable {
    /// One line naming the node, layer or value and what is wrong with it.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}
