/// A restricted pickle virtual machine (protocol ≤ 2), enough for PyTorch's legacy checkpoints.
/// It never runs code: GLOBAL resolves only the names in `PickleGlobal`, REDUCE calls only
/// OrderedDict() and _rebuild_tensor_v2(...), and BINPERSID accepts only storage ids.
/// Any other opcode or global is an error naming it and its byte offset.
public struct PickleMachine {
    private let bytes: [UInt8]
    /// Byte offset of the next read: after `load()`, just past the STOP it read.
    public private(set) var position: Int

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// `bytes` may hold several pickles back to back; `load()` reads one from `position`.
    public init(bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Reads one pickle (up to and including STOP) and returns its value.
    public mutating func load() throws -> PickleValue {
        stack = []; marks = []; memo = [:]
        while true {
            let at = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO n
            case 0x2E:  // STOP
                guard let top = stack.popLast(), stack.isEmpty else { throw fail("STOP with a malformed stack", at) }
                return top
            case 0x28: marks.append(stack.count)  // MARK
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x8A: stack.append(try long(count: Int(try byte())))  // LONG1
            case 0x47:  // BINFLOAT (big-endian double)
                let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case 0x58: stack.append(.string(try utf8(count: Int(try uint(4)), at)))  // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(count: Int(try byte()), at)))  // SHORT_BINUNICODE
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x85: stack.append(.tuple(try pop(1, at)))  // TUPLE1
            case 0x86: stack.append(.tuple(try pop(2, at)))  // TUPLE2
            case 0x87: stack.append(.tuple(try pop(3, at)))  // TUPLE3
            case 0x74: stack.append(.tuple(try popMark(at)))  // TUPLE
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x61: try append(try pop(1, at), at)  // APPEND
            case 0x65: try append(try popMark(at), at)  // APPENDS
            case 0x73: try setItems(try pop(2, at), at)  // SETITEM
            case 0x75: try setItems(try popMark(at), at)  // SETITEMS
            case 0x71: try put(Int(try byte()), at)  // BINPUT
            case 0x72: try put(Int(try uint(4)), at)  // LONG_BINPUT
            case 0x68: try get(Int(try byte()), at)  // BINGET
            case 0x6A: try get(Int(try uint(4)), at)  // LONG_BINGET
            case 0x30: _ = try pop(1, at)  // POP
            case 0x32:  // DUP
                guard let top = stack.last else { throw fail("DUP on an empty stack", at) }
                stack.append(top)
            case 0x63: stack.append(.global(try global(at)))  // GLOBAL
            case 0x52:  // REDUCE
                let popped = try pop(2, at)
                stack.append(try call(popped[0], popped[1], at))
            case 0x62:  // BUILD
                // Sets instance attributes (OrderedDict's `_metadata`); we keep none of them.
                let popped = try pop(2, at)
                guard case .dict = popped[0] else { throw fail("BUILD on \(popped[0])", at) }
                stack.append(popped[0])
            case 0x51:  // BINPERSID
                stack.append(try persistent(try pop(1, at)[0], at))
            default:
                throw fail(String(format: "unsupported pickle opcode 0x%02x", op), at)
            }
        }
    }

    // MARK: opcode helpers

    private func fail(_ message: String, _ at: Int) -> PickleError {
        PickleError("\(message) at byte \(at)")
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("pickle ends early", position) }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw fail("pickle ends early (wants \(n) bytes)", position) }
        defer { position += n }
        return bytes[position..<position + n]
    }

    /// Little-endian unsigned integer of `n` bytes.
    private mutating func uint(_ n: Int) throws -> UInt64 {
        try take(n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func long(count: Int) throws -> PickleValue {
        let raw = Array(try take(count))
        guard count <= 8 else { return .bigInt(raw) }
        guard count > 0 else { return .int(0) }
        var value = UInt64(0)
        for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        if count < 8, raw[count - 1] & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(count)) }  // sign-extend
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func utf8(count: Int, _ at: Int) throws -> String {
        guard let s = String(validating: try take(count), as: UTF8.self) else { throw fail("invalid UTF-8 string", at) }
        return s
    }

    /// GLOBAL reads "module\nname\n".
    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("unterminated GLOBAL", position) }
        let s = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end + 1
        return s
    }

    private mutating func global(_ at: Int) throws -> PickleGlobal {
        let module = try line(), name = try line()
        guard let g = PickleGlobal(rawValue: "\(module).\(name)") else {
            throw fail("pickle refers to global \(module).\(name), which is not allowed", at)
        }
        return g
    }

    private mutating func pop(_ n: Int, _ at: Int) throws -> [PickleValue] {
        guard stack.count - n >= (marks.last ?? 0) else { throw fail("stack underflow", at) }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK", at) }
        defer { stack.removeLast(stack.count - mark) }
        return Array(stack[mark...])
    }

    private mutating func append(_ items: [PickleValue], _ at: Int) throws {
        guard case .list(let list) = stack.last else { throw fail("APPEND to a non-list", at) }
        list.items += items
    }

    private mutating func setItems(_ flat: [PickleValue], _ at: Int) throws {
        guard case .dict(let dict) = stack.last, flat.count % 2 == 0 else { throw fail("SETITEMS on a non-dict", at) }
        for i in stride(from: 0, to: flat.count, by: 2) { dict.items.append((flat[i], flat[i + 1])) }
    }

    private mutating func put(_ index: Int, _ at: Int) throws {
        guard let top = stack.last else { throw fail("PUT on an empty stack", at) }
        memo[index] = top
    }

    private mutating func get(_ index: Int, _ at: Int) throws {
        guard let value = memo[index] else { throw fail("GET of unknown memo \(index)", at) }
        stack.append(value)
    }

    /// REDUCE: only OrderedDict() and _rebuild_tensor_v2(storage, offset, size, stride, ...).
    private func call(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case .global(let g) = callable, let args = args.asTuple else { throw fail("REDUCE on \(callable)", at) }
        switch g {
        case .orderedDict where args.isEmpty:
            return .dict(PickleDict())
        case .rebuildTensorV2 where args.count >= 4:
            guard case .storage(let storage) = args[0], let offset = args[1].asInt,
                let size = args[2].asTuple?.compactMap(\.asInt), let stride = args[3].asTuple?.compactMap(\.asInt),
                size.count == args[2].asTuple?.count, stride.count == size.count
            else { throw fail("malformed _rebuild_tensor_v2 arguments", at) }
            return .tensor(PickleTensor(storage: storage, offset: offset, size: size, stride: stride))
        default:
            throw fail("calling \(g.rawValue) with \(args.count) arguments is not allowed", at)
        }
    }

    /// BINPERSID: ('storage', torch.FloatStorage, key, location, numel, view_metadata).
    private func persistent(_ pid: PickleValue, _ at: Int) throws -> PickleValue {
        guard let t = pid.asTuple, t.count >= 5, t[0].asString == "storage",
            case .global(let type) = t[1], type.elementSize != nil,
            let key = t[2].asString, let count = t[4].asInt, count >= 0
        else { throw fail("unsupported persistent id \(pid)", at) }
        return .storage(PickleStorage(type: type, key: key, count: count))
    }
}
