import XCTest
import Dream

/// Hand-assembled pickles: the opcodes PyTorch's legacy checkpoints use, hostile pickles that
/// must be refused, and a tiny legacy checkpoint file read end to end.
final class PickleTests: XCTestCase {
    // Opcode bytes, named as in Python's pickletools.
    static let PROTO: UInt8 = 0x80, STOP: UInt8 = 0x2E, MARK: UInt8 = 0x28, NONE: UInt8 = 0x4E
    static let NEWTRUE: UInt8 = 0x88, NEWFALSE: UInt8 = 0x89, BININT1: UInt8 = 0x4B, BININT2: UInt8 = 0x4D
    static let BININT: UInt8 = 0x4A, LONG1: UInt8 = 0x8A, EMPTY_DICT: UInt8 = 0x7D, EMPTY_LIST: UInt8 = 0x5D
    static let EMPTY_TUPLE: UInt8 = 0x29, TUPLE: UInt8 = 0x74, TUPLE1: UInt8 = 0x85, TUPLE2: UInt8 = 0x86
    static let BINPUT: UInt8 = 0x71, LONG_BINPUT: UInt8 = 0x72, BINGET: UInt8 = 0x68
    static let SETITEM: UInt8 = 0x73, SETITEMS: UInt8 = 0x75, APPENDS: UInt8 = 0x65
    static let GLOBAL: UInt8 = 0x63, REDUCE: UInt8 = 0x52, BUILD: UInt8 = 0x62, BINPERSID: UInt8 = 0x51

    static func unicode(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [0x58] + le(UInt64(u.count), 4) + u
    }
    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    static func global(_ module: String, _ name: String) -> [UInt8] { [GLOBAL] + Array("\(module)\n\(name)\n".utf8) }

    func load(_ bytes: [UInt8]) throws -> PickleValue {
        var m = PickleMachine(bytes: bytes)
        return try m.load()
    }

    func testDictTupleIntsAndMemo() throws {
        typealias P = PickleTests
        // {'a': 1, 'b': (True, None, -2, 1001, 300000)} then 'c' -> the same dict fetched back from the memo.
        var b: [UInt8] = [P.PROTO, 2, P.EMPTY_DICT, P.BINPUT, 0, P.MARK]
        b += P.unicode("a") + [P.BININT1, 1]
        b += P.unicode("b") + [P.MARK, P.NEWTRUE, P.NONE, P.LONG1, 1, 0xFE, P.BININT2, 0xE9, 0x03, P.BININT] + P.le(300000, 4) + [P.TUPLE]
        b += [P.SETITEMS]
        b += P.unicode("c") + [P.BINGET, 0, P.SETITEM, P.STOP]
        guard case .dict(let d) = try load(b) else { return XCTFail("not a dict") }
        XCTAssertEqual(d.items.map { $0.key.asString }, ["a", "b", "c"])
        XCTAssertEqual(d["a"]?.asInt, 1)
        XCTAssertEqual(d["b"]?.description, "(True, None, -2, 1001, 300000)")
        // The memo holds the same (mutated) dict, as Python's does.
        guard case .dict(let inner) = d["c"] else { return XCTFail("memo entry is not a dict") }
        XCTAssertTrue(inner === d)
    }

    func testWideLONG1IsKeptAsBytes() throws {
        typealias P = PickleTests
        let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
        guard case .bigInt(let bytes) = try load([P.PROTO, 2, P.LONG1, 10] + magic + [P.STOP]) else { return XCTFail() }
        XCTAssertEqual(bytes, magic)
    }

    func testRefusesOsSystem() {
        typealias P = PickleTests
        // The classic exploit: os.system('echo pwned') via GLOBAL + REDUCE.
        let evil = [P.PROTO, 2] + P.global("os", "system") + P.unicode("echo pwned") + [P.TUPLE1, P.REDUCE, P.STOP]
        XCTAssertThrowsError(try load(evil)) { error in
            XCTAssertTrue("\(error)".contains("os.system"), "\(error)")
            XCTAssertTrue("\(error)".contains("not allowed"), "\(error)")
        }
        let eval = [P.PROTO, 2] + P.global("builtins", "eval") + P.unicode("1+1") + [P.TUPLE1, P.REDUCE, P.STOP]
        XCTAssertThrowsError(try load(eval)) { XCTAssertTrue("\($0)".contains("builtins.eval"), "\($0)") }
    }

    func testRefusesCallingAnAllowedClassWithArguments() {
        typealias P = PickleTests
        // OrderedDict([...]) with arguments is not a call a state dict needs: refused.
        let b = [P.PROTO, 2] + P.global("collections", "OrderedDict") + [P.EMPTY_LIST, P.TUPLE1, P.REDUCE, P.STOP]
        XCTAssertThrowsError(try load(b)) { XCTAssertTrue("\($0)".contains("not allowed"), "\($0)") }
    }

    func testRefusesUnknownOpcodeAndTruncation() {
        typealias P = PickleTests
        // INST (0x69) creates arbitrary objects: unsupported.
        XCTAssertThrowsError(try load([P.PROTO, 2, 0x69] + Array("os\nsystem\n".utf8) + [P.STOP])) {
            XCTAssertTrue("\($0)".contains("opcode 0x69"), "\($0)")
        }
        XCTAssertThrowsError(try load([P.PROTO, 2, P.BININT] + [1, 2])) { XCTAssertTrue("\($0)".contains("ends early"), "\($0)") }
        XCTAssertThrowsError(try load([P.PROTO, 2, P.TUPLE, P.STOP])) { XCTAssertTrue("\($0)".contains("MARK"), "\($0)") }
        XCTAssertThrowsError(try load([P.PROTO, 2, P.BINGET, 7, P.STOP])) { XCTAssertTrue("\($0)".contains("memo"), "\($0)") }
    }

    // MARK: a tiny legacy checkpoint

    /// 'w' = [[1, 2, 3], [4, 5, 6]] from storage "10" at offset 1, 'wT' its transposed view (shared
    /// storage, stride (1, 3)), plus an int64 counter (skipped).
    static func checkpoint(truncate: Int = 0, wSize: [Int] = [2, 3], wStride: [Int] = [3, 1]) -> [UInt8] {
        typealias P = PickleTests
        let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
        var b: [UInt8] = [P.PROTO, 2, P.LONG1, 10] + magic + [P.STOP]
        b += [P.PROTO, 2, P.BININT2, 0xE9, 0x03, P.STOP]
        b += [P.PROTO, 2, P.EMPTY_DICT, P.MARK] + unicode("little_endian") + [P.NEWTRUE, P.SETITEMS, P.STOP]

        func tensor(_ storageType: String, key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) -> [UInt8] {
            var t = [P.BINGET, 1, P.MARK]  // _rebuild_tensor_v2 from the memo
            t += [P.MARK] + unicode("storage") + global("torch", storageType) + unicode(key) + unicode("cpu")
            t += [P.BININT1, UInt8(numel), P.NONE, P.TUPLE, P.BINPERSID]
            t += [P.BININT1, UInt8(offset)]
            t += [P.MARK] + size.flatMap { [P.BININT1, UInt8($0)] } + [P.TUPLE]
            t += [P.MARK] + stride.flatMap { [P.BININT1, UInt8($0)] } + [P.TUPLE]
            t += [P.NEWFALSE] + global("collections", "OrderedDict") + [P.EMPTY_TUPLE, P.REDUCE, P.TUPLE, P.REDUCE]
            return t
        }
        b += [P.PROTO, 2] + global("collections", "OrderedDict") + [P.EMPTY_TUPLE, P.REDUCE, P.MARK]
        b += global("torch._utils", "_rebuild_tensor_v2") + [P.BINPUT, 1, 0x30]  // memoise, then POP
        b += unicode("w") + tensor("FloatStorage", key: "10", numel: 7, offset: 1, size: wSize, stride: wStride)
        b += unicode("wT") + tensor("FloatStorage", key: "10", numel: 7, offset: 1, size: [3, 2], stride: [1, 3])
        b += unicode("bn.num_batches_tracked") + tensor("LongStorage", key: "11", numel: 1, offset: 0, size: [], stride: [])
        b += [P.SETITEMS, P.EMPTY_DICT, P.BUILD, P.STOP]
        b += [P.PROTO, 2, P.EMPTY_LIST, P.MARK] + unicode("10") + unicode("11") + [P.APPENDS, P.STOP]
        b += le(7, 8) + [Float](arrayLiteral: 99, 1, 2, 3, 4, 5, 6).flatMap { le(UInt64($0.bitPattern), 4) }
        b += le(1, 8) + le(42, 8)
        return Array(b.dropLast(truncate))
    }

    func testReadsLegacyCheckpoint() throws {
        let dict = try TorchLegacyFile.read(Data(Self.checkpoint()), path: "tiny.pth")
        XCTAssertEqual(dict.entries.map(\.name), ["w", "wT"], "the int64 counter is dropped")
        XCTAssertEqual(dict["w"], Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(dict["wT"], Tensor(shape: [3, 2], data: [1, 4, 2, 5, 3, 6]), "strided views are gathered")
    }

    func testTruncatedCheckpointNamesTheFile() {
        XCTAssertThrowsError(try TorchLegacyFile.read(Data(Self.checkpoint(truncate: 12)), path: "tiny.pth")) { error in
            XCTAssertTrue("\(error)".hasPrefix("tiny.pth: "), "\(error)")
            XCTAssertTrue("\(error)".contains("storage 11"), "\(error)")
        }
        // Views that reach past their storage, or repeat it (stride 0), are refused.
        for (size, stride) in [([3, 3], [3, 1]), ([2, 3], [4, 1]), ([100, 100], [0, 0])] {
            XCTAssertThrowsError(try TorchLegacyFile.read(Data(Self.checkpoint(wSize: size, wStride: stride)), path: "view.pth")) {
                XCTAssertTrue("\($0)".contains("tensor w of size \(size)"), "\($0)")
            }
        }
        XCTAssertThrowsError(try TorchLegacyFile.read(Data("PK\u{3}\u{4}zip".utf8), path: "new.pth")) { error in
            XCTAssertTrue("\(error)".hasPrefix("new.pth: "), "\(error)")
        }
    }
}
