/// A dense float32 tensor, row-major. Images and activations are NCHW with N = 1.
/// Value type: weights and constants live in these; the engine's hot loops work on raw buffers.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first; their product is `count`.
    public var shape: [Int]
    /// The values, row-major (last dimension fastest).
    public var data: [Float]

    /// A tensor of `data`, which must hold the product of `shape` values (a precondition).
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) does not match \(data.count) values")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with 0.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Number of values: the product of `shape`.
    public var count: Int { data.count }
}
