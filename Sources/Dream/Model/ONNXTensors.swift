import Foundation

/// Decoding ONNX `TensorProto`s (initializers, Constant values, test-data files) and reading node
/// attributes. Everything here throws `ONNXProblem`, a bare message the loader prefixes with the
/// model path and the node or initializer it was reading.

struct ONNXProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A decoded constant: floats for float/double tensors, ints for integer and bool tensors.
struct ONNXConstant {
    var dims: [Int]
    var dataType: Int32
    var floats: [Float]
    var ints: [Int64]

    var isFloat: Bool { dataType == ONNXType.float || dataType == ONNXType.double }
    var count: Int { dims.reduce(1, *) }
    var tensor: Tensor { Tensor(shape: dims, data: floats) }
}

/// The few `TensorProto.DataType` codes we handle, and names for the rest in error messages.
enum ONNXType {
    static let float: Int32 = 1, int32: Int32 = 6, int64: Int32 = 7, bool: Int32 = 9, double: Int32 = 11

    static func name(_ code: Int32) -> String {
        let names = [
            0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
            6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double",
            12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"
        ]
        return names[Int(code)] ?? "type \(code)"
    }
}

/// Reads `count` little-endian scalars of `size` bytes from `data`, converting each bit pattern.
private func readLittleEndian<Bits: FixedWidthInteger, Out>(
    _ data: Data, count: Int, as: Bits.Type, _ convert: (Bits) -> Out
) -> [Out] {
    data.withUnsafeBytes { raw in
        (0..<count).map { convert(Bits(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<Bits>.size, as: Bits.self))) }
    }
}

func decodeTensor(_ t: Onnx_TensorProto) throws -> ONNXConstant {
    if t.hasDataLocation && t.dataLocation == .external || !t.externalData.isEmpty {
        throw ONNXProblem("tensor data stored in an external file is not supported")
    }
    if t.hasSegment { throw ONNXProblem("segmented tensors are not supported") }
    var dims: [Int] = []
    for d in t.dims {
        guard d >= 0, d < Int64(Int32.max) else { throw ONNXProblem("dimension \(d) is invalid") }
        dims.append(Int(d))
    }
    let (count, overflow) = dims.reduce((1, false)) { acc, d in
        let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
    }
    guard !overflow else { throw ONNXProblem("shape \(dims) is too large") }
    let type = t.dataType
    var result = ONNXConstant(dims: dims, dataType: type, floats: [], ints: [])

    func checkRaw(_ size: Int) throws {
        guard t.rawData.count == count * size else {
            throw ONNXProblem("raw data holds \(t.rawData.count) bytes, shape \(dims) of \(ONNXType.name(type)) needs \(count * size)")
        }
    }
    func checkCount(_ n: Int) throws {
        guard n == count else { throw ONNXProblem("holds \(n) values, shape \(dims) needs \(count)") }
    }
    switch type {
    case ONNXType.float:
        if t.hasRawData {
            try checkRaw(4)
            result.floats = readLittleEndian(t.rawData, count: count, as: UInt32.self) { Float(bitPattern: $0) }
        } else {
            try checkCount(t.floatData.count); result.floats = t.floatData
        }
    case ONNXType.double:
        if t.hasRawData {
            try checkRaw(8)
            result.floats = readLittleEndian(t.rawData, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        } else {
            try checkCount(t.doubleData.count); result.floats = t.doubleData.map { Float($0) }
        }
    case ONNXType.int64:
        if t.hasRawData {
            try checkRaw(8)
            result.ints = readLittleEndian(t.rawData, count: count, as: UInt64.self) { Int64(bitPattern: $0) }
        } else {
            try checkCount(t.int64Data.count); result.ints = t.int64Data
        }
    case ONNXType.int32:
        if t.hasRawData {
            try checkRaw(4)
            result.ints = readLittleEndian(t.rawData, count: count, as: UInt32.self) { Int64(Int32(bitPattern: $0)) }
        } else {
            try checkCount(t.int32Data.count); result.ints = t.int32Data.map { Int64($0) }
        }
    case ONNXType.bool:
        if t.hasRawData {
            try checkRaw(1)
            result.ints = t.rawData.map { Int64($0) }
        } else {
            try checkCount(t.int32Data.count); result.ints = t.int32Data.map { Int64($0) }
        }
    default:
        throw ONNXProblem("element type \(ONNXType.name(type)) is not supported (only float, double, int32, int64, bool)")
    }
    return result
}

/// A node's attributes by name, with typed accessors that reject a wrong attribute type.
struct ONNXAttributes {
    private let byName: [String: Onnx_AttributeProto]

    init(_ node: Onnx_NodeProto) throws {
        var map: [String: Onnx_AttributeProto] = [:]
        for a in node.attribute {
            if map[a.name] != nil { throw ONNXProblem("attribute \(a.name) is given twice") }
            if a.hasRefAttrName { throw ONNXProblem("attribute \(a.name) refers to a function attribute; not supported") }
            map[a.name] = a
        }
        byName = map
    }

    var names: [String] { byName.keys.sorted() }
    func has(_ name: String) -> Bool { byName[name] != nil }

    /// Rejects any attribute this op's mapping does not interpret: an ignored attribute could
    /// silently change the answer.
    func allowOnly(_ allowed: Set<String>) throws {
        for name in names where !allowed.contains(name) {
            throw ONNXProblem("attribute \(name) is not supported")
        }
    }

    // Old exporters sometimes leave `type` unset; accept that when the right field is present.
    private func get(_ name: String, _ type: Onnx_AttributeProto.AttributeType, present: (Onnx_AttributeProto) -> Bool) throws -> Onnx_AttributeProto?
    {
        guard let a = byName[name] else { return nil }
        guard a.type == type || (a.type == .undefined && present(a)) else {
            throw ONNXProblem("attribute \(name) has type \(a.type), expected \(type)")
        }
        return a
    }

    func int(_ name: String) throws -> Int? {
        guard let a = try get(name, .int, present: { $0.hasI }) else { return nil }
        guard let v = Int(exactly: a.i), abs(v) < Int(Int32.max) else { throw ONNXProblem("attribute \(name)=\(a.i) is out of range") }
        return v
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let a = try get(name, .ints, present: { !$0.ints.isEmpty }) else { return nil }
        return try a.ints.map { v in
            guard abs(v) < Int64(Int32.max) else { throw ONNXProblem("attribute \(name) value \(v) is out of range") }
            return Int(v)
        }
    }

    func float(_ name: String) throws -> Float? {
        try get(name, .float, present: { $0.hasF })?.f
    }

    func floats(_ name: String) throws -> [Float]? {
        try get(name, .floats, present: { !$0.floats.isEmpty })?.floats
    }

    func string(_ name: String) throws -> String? {
        guard let a = try get(name, .string, present: { $0.hasS }) else { return nil }
        return String(decoding: a.s, as: UTF8.self)
    }

    func tensor(_ name: String) throws -> Onnx_TensorProto? {
        try get(name, .tensor, present: { $0.hasT })?.t
    }
}
