/// A bad graph, an unknown layer, or an input that does not fit the model.
public struct NetworkError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
