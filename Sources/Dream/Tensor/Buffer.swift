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

/// Runs `body(chunkStart, chunkEnd)` over 0..<count split in chunks on both cores.
/// Why the minimum chunk: below ~32k floats the dispatch costs more than the work.
@inline(__always)
func parallelChunks(_ count: Int, minChunk: Int = 32_768, _ body: (Int, Int) -> Void) {
    let chunks = min(max(count / minChunk, 1), 8)
    if chunks == 1 { body(0, count); return }
    let size = (count + chunks - 1) / chunks
    parallelPerform(iterations: chunks) { i in
        let lo = i * size, hi = min(count, lo + size)
        if lo < hi { body(lo, hi) }
    }
}

/// Runs `body(i)` for i in 0..<count on both cores (one task per index range).
@inline(__always)
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { for i in 0..<count { body(i) }; return }
    let tasks = min(count, 8)
    parallelPerform(iterations: tasks) { t in
        var i = t
        while i < count { body(i); i += tasks }
    }
}
