import Foundation

/// A PyTorch state dict: parameter names in file order, each a float32 tensor.
/// Integer tensors (BatchNorm's `num_batches_tracked`) are read past and dropped.
public struct TorchStateDict: Sendable {
    /// The float32 parameters in file order, each with its name (e.g. "_blocks.0._bn1.weight"), row-major.
    public var entries: [(name: String, tensor: Tensor)]

    /// A state dict of `entries`, in that order.
    public init(entries: [(name: String, tensor: Tensor)]) { self.entries = entries }

    /// The tensor named `name`, or nil when there is none.
    public subscript(name: String) -> Tensor? { entries.first { $0.name == name }?.tensor }
}

/// Reads PyTorch's legacy (pre-zip) serialization without PyTorch:
///   pickle magic 0x1950a86a20f9469cfc6c · pickle protocol version 1001 · pickle sys info ·
///   pickle state dict (tensors name storages by persistent id) · pickle list of storage keys ·
///   per key in that order: int64 LE element count, then the raw LE elements.
/// Everything goes through `PickleMachine`, which refuses any global it does not know.
public enum TorchLegacyFile {
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]  // LE 0x1950a86a20f9469cfc6c

    /// `path` only names the file in errors.
    public static func read(_ data: Data, path: String) throws -> TorchStateDict {
        do {
            return try read([UInt8](data))
        } catch let error as PickleError {
            throw PickleError("\(path): not a readable PyTorch legacy checkpoint: \(error.description)")
        }
    }

    static func read(_ bytes: [UInt8]) throws -> TorchStateDict {
        var machine = PickleMachine(bytes: bytes)
        guard case .bigInt(let m) = try machine.load(), m == magic else {
            throw PickleError("missing the legacy magic number (a zip-format checkpoint is not supported)")
        }
        guard case .int(1001) = try machine.load() else { throw PickleError("unsupported protocol version") }
        guard case .dict(let sysInfo) = try machine.load() else { throw PickleError("missing sys info") }
        if case .bool(false) = sysInfo["little_endian"] { throw PickleError("big-endian checkpoints are not supported") }
        guard case .dict(let stateDict) = try machine.load() else { throw PickleError("the top-level object is not a dict") }
        guard case .list(let keyList) = try machine.load() else { throw PickleError("missing the storage key list") }

        // Raw storages follow the last pickle, in key-list order.
        var storages: [String: [Float]] = [:]
        var offset = machine.position
        for keyValue in keyList.items {
            guard let key = keyValue.asString else { throw PickleError("storage key \(keyValue) is not a string") }
            guard let storage = findStorage(key, in: stateDict) else { throw PickleError("storage \(key) is not used by any tensor") }
            guard offset + 8 <= bytes.count else { throw PickleError("file ends before storage \(key)") }
            let count = int64(bytes, at: offset)
            let size = storage.type.elementSize ?? 4
            guard count == storage.count, count >= 0, count <= (bytes.count - offset - 8) / size else {
                throw PickleError("storage \(key) holds \(count) elements, expected \(storage.count) (file truncated?)")
            }
            offset += 8
            if storage.type == .floatStorage { storages[key] = floats(bytes, at: offset, count: count) }
            offset += count * size
        }

        var entries: [(name: String, tensor: Tensor)] = []
        for (nameValue, value) in stateDict.items {
            guard let name = nameValue.asString, case .tensor(let t) = value else {
                throw PickleError("state dict entry \(nameValue) is not a named tensor")
            }
            guard t.storage.type == .floatStorage else { continue }
            guard let data = storages[t.storage.key] else { throw PickleError("tensor \(name): storage \(t.storage.key) missing") }
            entries.append((name, try gather(t, data, name: name)))
        }
        return TorchStateDict(entries: entries)
    }

    private static func findStorage(_ key: String, in dict: PickleDict) -> PickleStorage? {
        for (_, value) in dict.items {
            if case .tensor(let t) = value, t.storage.key == key { return t.storage }
        }
        return nil
    }

    /// Gathers a strided view into a row-major tensor. The converted TensorFlow weights are
    /// stored transposed (e.g. stride [1, 32, 288, 96] for a (32, 3, 3, 3) conv), so views are common.
    private static func gather(_ t: PickleTensor, _ data: [Float], name: String) throws -> Tensor {
        guard t.size.allSatisfy({ $0 >= 0 }), t.stride.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
            throw PickleError("tensor \(name) has a negative size, stride or offset")
        }
        // Overflow-checked: a hostile file could name absurd sizes.
        var count = 1, last = t.offset, overflow = false
        for (dim, stride) in zip(t.size, t.stride) {
            let c = count.multipliedReportingOverflow(by: dim), reach = max(dim - 1, 0).multipliedReportingOverflow(by: stride)
            let l = last.addingReportingOverflow(reach.partialValue)
            overflow = overflow || c.overflow || reach.overflow || l.overflow
            count = c.partialValue; last = l.partialValue
        }
        if !overflow && count == 0 { return Tensor(shape: t.size, data: []) }
        guard !overflow, last < data.count, count <= data.count else {  // count: no broadcast (stride 0) views
            throw PickleError("tensor \(name) of size \(t.size), stride \(t.stride) at offset \(t.offset) overruns its storage of \(data.count)")
        }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: t.size.count)  // odometer over the view, last dim fastest
        var source = t.offset
        for i in 0..<count {
            out[i] = data[source]
            var d = t.size.count - 1
            while d >= 0 {
                index[d] += 1
                source += t.stride[d]
                if index[d] < t.size[d] { break }
                source -= t.stride[d] * t.size[d]
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: t.size, data: out)
    }

    private static func int64(_ bytes: [UInt8], at offset: Int) -> Int {
        var v = UInt64(0)
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        return Int(Int64(bitPattern: v))
    }

    private static func floats(_ bytes: [UInt8], at offset: Int, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + count * 4]))
            }
        }
        #if _endian(big)
            for i in out.indices { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
        #endif
        return out
    }
}
