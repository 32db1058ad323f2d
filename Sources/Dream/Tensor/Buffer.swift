import Foundation

/// A fixed-size float buffer owned by the engine's scratch arena. Allocated once, reused across
/// steps of the same input size; freed in `deinit`. Not a value type: kernels write into it.
final class Buffer: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    func zero() { pointer.update(repeating: 0, count: count) }

    func copy(from tensor: Tensor) {
        precondition(tensor.count == count)
        tensor.data.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    func tensor(shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: pointer, count: count)))
    }
}

/// Int32 indices (max-pool argmax) kept by the tape between the forward and backward pass.
final class IndexBuffer: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Int32>

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
