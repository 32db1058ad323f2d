/// The values a restricted unpickler can produce. Only what PyTorch's legacy checkpoints use:
/// scalars, strings, tuples, lists, dicts, a fixed set of allowed globals, storages named by
/// persistent ids and tensors rebuilt from them. Lists and dicts are reference types because the
/// pickle machine mutates a container after memoising it (EMPTY_DICT, BINPUT, MARK ... SETITEMS).
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    case bigInt([UInt8])  // LONG1 wider than 64 bits: little-endian two's complement bytes
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)  // from a persistent id
    case tensor(PickleTensor)  // from torch._utils._rebuild_tensor_v2

    /// Python-like text for error messages: None, True, 'text', (a, b), [a], {k: v}, <global ...>,
    /// <storage ...>, <tensor ...>.
    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return "\(i)"
        case .bigInt(let bytes): return "long(\(bytes.count) bytes)"
        case .float(let d): return "\(d)"
        case .string(let s): return "'\(s)'"
        case .tuple(let items): return "(" + items.map(\.description).joined(separator: ", ") + ")"
        case .list(let l): return "[" + l.items.map(\.description).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.items.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .global(let g): return "<global \(g.rawValue)>"
        case .storage(let s): return "<storage \(s.key) \(s.type.rawValue) x\(s.count)>"
        case .tensor(let t): return "<tensor \(t.size) of storage \(t.storage.key)>"
        }
    }

    /// The number of an `.int`; nil for any other case.
    public var asInt: Int? { if case .int(let i) = self { return i } else { return nil } }
    /// The text of a `.string`; nil for any other case.
    public var asString: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The items of a `.tuple`; nil for any other case.
    public var asTuple: [PickleValue]? { if case .tuple(let t) = self { return t } else { return nil } }
}

/// A pickled list, shared by reference (APPEND and APPENDS grow it after BINPUT memoised it).
public final class PickleList {
    /// The elements, in order.
    public var items: [PickleValue]
    /// A list of `items`.
    public init(_ items: [PickleValue] = []) { self.items = items }
}

/// Insertion-ordered, like Python's dict and OrderedDict.
public final class PickleDict {
    /// Key-value pairs in insertion order; a repeated key is kept twice (lookups take the last).
    public var items: [(key: PickleValue, value: PickleValue)]
    /// A dict of `items`, in that order.
    public init(_ items: [(key: PickleValue, value: PickleValue)] = []) { self.items = items }

    /// The value stored under a string key, if any.
    public subscript(key: String) -> PickleValue? {
        items.last { $0.key.asString == key }?.value
    }
}

/// The only globals a pickle may name. Anything else (os.system, builtins.eval, ...) is refused.
public enum PickleGlobal: String, CaseIterable, Sendable {
    case orderedDict = "collections.OrderedDict"
    case rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    case floatStorage = "torch.FloatStorage"
    case longStorage = "torch.LongStorage"

    /// Bytes per element, for the storage classes.
    var elementSize: Int? {
        switch self {
        case .floatStorage: return 4
        case .longStorage: return 8
        case .orderedDict, .rebuildTensorV2: return nil
        }
    }
}

/// A storage named by a persistent id ('storage', torch.FloatStorage, key, 'cpu', numel, None).
public struct PickleStorage: Sendable, Equatable {
    /// Element class: `.floatStorage` (float32) or `.longStorage` (int64).
    public var type: PickleGlobal
    /// Names the storage's raw data, which follows the pickles in the key list's order.
    public var key: String
    /// Number of elements.
    public var count: Int
}

/// A tensor view of a storage: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks).
public struct PickleTensor: Sendable, Equatable {
    /// The storage the view reads.
    public var storage: PickleStorage
    /// Position of the first element, in elements from the storage's start.
    public var offset: Int
    /// Shape, outermost dimension first.
    public var size: [Int]
    /// Elements between neighbours along each dimension of `size`.
    public var stride: [Int]
}

/// A pickle or checkpoint the restricted reader refuses.
public struct PickleError: Error, CustomStringConvertible {
    /// One line: what is wrong and where (the byte offset; `TorchLegacyFile.read` prefixes the file).
    public var description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}
