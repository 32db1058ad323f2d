import Foundation
import Parsing

/// A keyframed value over a render's frames, in the syntax Deforum's animators type:
/// `0:(1.0), 60:(1.04), 120:(1.0+0.02*sin(2*pi*t/60))`. Keys are frame numbers or seconds
/// (`2.5s`); each key's value is an expression in `t` (the frame), `s` (seconds) and the usual
/// math functions. Between two keys whose values are numbers the value is interpolated (linearly,
/// or along a smooth curve through the keys); a key whose expression uses `t` or `s` holds from
/// its frame until the next key, evaluated at every frame. Before the first key the first key's
/// value holds, after the last key the last one's.
public struct Schedule: Sendable, Equatable, CustomStringConvertible {
    /// The text it was parsed from (what presets, `render presets show` and provenance show).
    public let text: String
    let keys: [Key]

    struct Key: Sendable, Equatable {
        let at: KeyTime
        let value: Expression
    }

    enum KeyTime: Sendable, Equatable {
        case frame(Int)
        case seconds(Double)
        func frame(fps: Double) -> Double {
            switch self {
            case let .frame(f): Double(f)
            case let .seconds(s): s * fps
            }
        }
    }

    /// The schedule's text.
    public var description: String { text }

    /// Whether `text` is a plain number rather than a schedule.
    public static func number(_ text: String) -> Double? { Double(text.trimmingCharacters(in: .whitespaces)) }

    /// Parses a schedule; a plain expression without keys is a schedule with one key at frame 0.
    /// Bad input throws a `DreamError` naming the position (1-based character) and what was expected.
    public init(parsing text: String) throws {
        self.text = text
        var input = text[...]
        let failures = Failures()
        do {
            keys = try ScheduleSyntax(failures: failures).parse(&input)
        } catch {
            let (at, message) = failures.furthest ?? (input.startIndex, String(describing: error))
            throw DreamError.schedule(text: text, problem: "at character \(text.distance(from: text.startIndex, to: at) + 1): \(message)")
        }
        guard !keys.isEmpty else { throw DreamError.schedule(text: text, problem: "no keys") }
        for (a, b) in zip(keys, keys.dropFirst()) {
            switch (a.at, b.at) {
            case let (.frame(x), .frame(y)) where y <= x:
                throw DreamError.schedule(text: text, problem: "keys must increase (\(y) after \(x))")
            case let (.seconds(x), .seconds(y)) where y <= x:
                throw DreamError.schedule(text: text, problem: "keys must increase (\(y)s after \(x)s)")
            default: break
            }
        }
    }

    /// The value at frame `frame` of a render at `fps` frames per second.
    public func value(atFrame frame: Double, fps: Double, smooth: Bool = false) -> Double {
        // Frame and seconds keys may be mixed: in order of the frame they fall on at this rate.
        let keys = self.keys.sorted { $0.at.frame(fps: fps) < $1.at.frame(fps: fps) }
        let frames = keys.map { $0.at.frame(fps: fps) }
        let vars = Variables(t: frame, s: frame / fps, fps: fps)
        // The key in force: the last at or before `frame` (the first before it starts).
        guard let i = frames.lastIndex(where: { $0 <= frame }) else { return keys[0].value.evaluate(vars) }
        let key = keys[i]
        if !key.value.isConstant || i + 1 == keys.count { return key.value.evaluate(vars) }
        // A number: interpolated towards the next key's value (evaluated at that key's frame).
        let value = { (j: Int) in keys[j].value.evaluate(Variables(t: frames[j], s: frames[j] / fps, fps: fps)) }
        let (f0, f1) = (frames[i], frames[i + 1])
        guard f1 > f0 else { return value(i + 1) }
        let u = (frame - f0) / (f1 - f0)
        let (v0, v1) = (value(i), value(i + 1))
        guard smooth else { return v0 + (v1 - v0) * u }
        // Cubic Hermite through the keys (slopes from the neighbours: Catmull–Rom for uneven
        // spacing), so the value's rate of change has no jumps at the keys.
        func slope(_ j: Int) -> Double {
            let a = max(j - 1, 0), b = min(j + 1, keys.count - 1)
            guard frames[b] > frames[a], keys[a].value.isConstant else { return 0 }
            return (value(b) - value(a)) / (frames[b] - frames[a])
        }
        let (m0, m1) = (slope(i) * (f1 - f0), slope(i + 1) * (f1 - f0))
        let u2 = u * u, u3 = u2 * u
        return (2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * v1 + (u3 - u2) * m1
    }
}

/// The variables an expression reads.
struct Variables {
    let t: Double, s: Double, fps: Double
}

/// An arithmetic expression of a schedule key.
indirect enum Expression: Sendable, Equatable {
    case number(Double)
    case variable(String)
    case negate(Expression)
    case binary(Character, Expression, Expression)
    case call(String, [Expression])

    /// Whether the value is the same at every frame (no `t` or `s`).
    var isConstant: Bool {
        switch self {
        case .number: true
        case let .variable(v): !(v == "t" || v == "s")
        case let .negate(e): e.isConstant
        case let .binary(_, a, b): a.isConstant && b.isConstant
        case let .call(_, args): args.allSatisfy(\.isConstant)
        }
    }

    func evaluate(_ v: Variables) -> Double {
        switch self {
        case let .number(x): return x
        case let .variable(name):
            switch name {
            case "t": return v.t
            case "s": return v.s
            case "fps": return v.fps
            case "pi": return .pi
            default: return M_E  // "e": the parser admits no other name
            }
        case let .negate(e): return -e.evaluate(v)
        case let .binary(op, a, b):
            let (x, y) = (a.evaluate(v), b.evaluate(v))
            switch op {
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            case "/": return x / y
            case "%": return fmod(x, y)
            default: return pow(x, y)
            }
        case let .call(name, args):
            let x = args.map { $0.evaluate(v) }
            return Expression.functions[name]!.apply(x)
        }
    }

    struct Function: Sendable {
        let arity: Int
        let apply: @Sendable ([Double]) -> Double
    }

    static let functions: [String: Function] = [
        "sin": Function(arity: 1) { sin($0[0]) }, "cos": Function(arity: 1) { cos($0[0]) },
        "tan": Function(arity: 1) { tan($0[0]) }, "asin": Function(arity: 1) { asin($0[0]) },
        "acos": Function(arity: 1) { acos($0[0]) }, "atan": Function(arity: 1) { atan($0[0]) },
        "atan2": Function(arity: 2) { atan2($0[0], $0[1]) }, "sqrt": Function(arity: 1) { sqrt($0[0]) },
        "abs": Function(arity: 1) { abs($0[0]) }, "exp": Function(arity: 1) { exp($0[0]) },
        "log": Function(arity: 1) { log($0[0]) }, "log10": Function(arity: 1) { log10($0[0]) },
        "floor": Function(arity: 1) { floor($0[0]) }, "ceil": Function(arity: 1) { ceil($0[0]) },
        "round": Function(arity: 1) { ($0[0]).rounded() }, "pow": Function(arity: 2) { pow($0[0], $0[1]) },
        "min": Function(arity: 2) { min($0[0], $0[1]) }, "max": Function(arity: 2) { max($0[0], $0[1]) },
        "clamp": Function(arity: 3) { min(max($0[0], $0[1]), $0[2]) }
    ]
    static let variables: Set<String> = ["t", "s", "fps", "pi", "e"]
}

// MARK: Grammar (swift-parsing)
//   schedule   := key ("," key)*  |  expression
//   key        := number ["s"] ":" "(" expression ")"
//   expression := term (("+" | "-") term)*
//   term       := unary (("*" | "/" | "%") unary)*
//   unary      := "-" unary | "+" unary | power
//   power      := primary [("^" | "**") unary]
//   primary    := number | "(" expression ")" | name ["(" expression ("," expression)* ")"]
// Each parser records the furthest point where the input stopped fitting (`Failures`): Many and
// OneOf backtrack over a failure, so the error reported is the one furthest into the text.

/// The furthest failure of one parse: its position in the text and what was expected there.
final class Failures {
    private(set) var furthest: (at: String.Index, message: String)?
    func fail(_ message: String, at input: Substring) -> ScheduleProblem {
        if furthest == nil || input.startIndex > furthest!.at { furthest = (input.startIndex, message) }
        return ScheduleProblem(message)
    }
}

struct ScheduleProblem: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@inline(__always) private func skipSpaces(_ input: inout Substring) { input = input.drop { $0 == " " || $0 == "\t" } }

/// Consumes `literal` after optional spaces, or records what was expected.
private func expect(_ literal: String, _ input: inout Substring, _ failures: Failures, _ what: String? = nil) throws {
    skipSpaces(&input)
    guard input.hasPrefix(literal) else { throw failures.fail(what ?? "expected \"\(literal)\"", at: input) }
    input.removeFirst(literal.count)
}

struct ScheduleSyntax: Parser {
    let failures: Failures
    func parse(_ input: inout Substring) throws -> [Schedule.Key] {
        skipSpaces(&input)
        // A bare expression ("1.0+0.1*t", no keys: expressions have no ":") is one key at frame 0.
        if !input.contains(":") {
            let e = try ExpressionSyntax(failures: failures).parse(&input)
            skipSpaces(&input)
            guard input.isEmpty else { throw failures.fail("expected an operator or the end", at: input) }
            return [Schedule.Key(at: .frame(0), value: e)]
        }
        var keys = [try KeySyntax(failures: failures).parse(&input)]
        while true {
            skipSpaces(&input)
            if input.isEmpty { return keys }
            try expect(",", &input, failures, "expected \",\" before the next key, or the end")
            keys.append(try KeySyntax(failures: failures).parse(&input))
        }
    }
}

struct KeySyntax: Parser {
    let failures: Failures
    func parse(_ input: inout Substring) throws -> Schedule.Key {
        skipSpaces(&input)
        let start = input
        guard let number = try? Double.parser(of: Substring.self).parse(&input), number >= 0 else {
            input = start
            throw failures.fail("expected a key: a frame number or seconds like 2.5s", at: input)
        }
        let at: Schedule.KeyTime
        if input.first == "s" {
            input.removeFirst(); at = .seconds(number)
        } else {
            guard number == number.rounded(), number < 1e9 else {
                throw failures.fail("a frame key must be a whole number (seconds end in s, like 2.5s)", at: start)
            }
            at = .frame(Int(number))
        }
        try expect(":", &input, failures)
        try expect("(", &input, failures)
        let value = try ExpressionSyntax(failures: failures).parse(&input)
        try expect(")", &input, failures, "expected an operator or \")\"")
        return Schedule.Key(at: at, value: value)
    }
}

/// One level of left-associative binary operators: operand (op operand)*, folded from the left.
struct BinaryLevel<Operand: Parser>: Parser where Operand.Input == Substring, Operand.Output == Expression {
    let operators: [Character]
    let operand: Operand
    var body: some Parser<Substring, Expression> {
        Parse { (first: Expression, rest: [(Character, Expression)]) -> Expression in
            rest.reduce(first) { .binary($1.0, $0, $1.1) }
        } with: {
            operand
            Many {
                Whitespace(.horizontal)
                First().filter { operators.contains($0) }
                operand
            }
        }
    }
}

/// expression := term (("+" | "-") term)*
struct ExpressionSyntax: Parser {
    let failures: Failures
    var body: some Parser<Substring, Expression> {
        BinaryLevel(operators: ["+", "-"], operand: TermSyntax(failures: failures))
    }
}

/// term := unary (("*" | "/" | "%") unary)*
struct TermSyntax: Parser {
    let failures: Failures
    var body: some Parser<Substring, Expression> {
        BinaryLevel(operators: ["*", "/", "%"], operand: UnarySyntax(failures: failures))
    }
}

struct UnarySyntax: Parser {
    let failures: Failures
    func parse(_ input: inout Substring) throws -> Expression {
        skipSpaces(&input)
        if input.first == "-" { input.removeFirst(); return .negate(try parse(&input)) }
        if input.first == "+" { input.removeFirst(); return try parse(&input) }
        let base = try PrimarySyntax(failures: failures).parse(&input)
        var rest = input
        skipSpaces(&rest)
        for op in ["**", "^"] where rest.hasPrefix(op) {
            rest.removeFirst(op.count)
            let exponent = try parse(&rest)
            input = rest
            return .binary("^", base, exponent)
        }
        return base
    }
}

struct PrimarySyntax: Parser {
    let failures: Failures
    func parse(_ input: inout Substring) throws -> Expression {
        skipSpaces(&input)
        guard let c = input.first else { throw failures.fail("expected a number, a name or \"(\"", at: input) }
        if c.isNumber || c == "." {
            guard let x = try? Double.parser(of: Substring.self).parse(&input) else { throw failures.fail("expected a number", at: input) }
            return .number(x)
        }
        if c == "(" {
            input.removeFirst()
            let e = try ExpressionSyntax(failures: failures).parse(&input)
            try expect(")", &input, failures, "expected an operator or \")\"")
            return e
        }
        guard c.isLetter else { throw failures.fail("expected a number, a name or \"(\"", at: input) }
        let start = input
        let name = String(input.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        input.removeFirst(name.count)
        var rest = input
        skipSpaces(&rest)
        guard rest.first == "(" else {
            guard Expression.variables.contains(name) else {
                throw failures.fail("unknown name \"\(name)\" (t is the frame, s the time in seconds; also fps, pi, e)", at: start)
            }
            return .variable(name)
        }
        guard let f = Expression.functions[name] else {
            throw failures.fail("unknown function \"\(name)\" (known: \(Expression.functions.keys.sorted().joined(separator: ", ")))", at: start)
        }
        rest.removeFirst()
        var args = [try ExpressionSyntax(failures: failures).parse(&rest)]
        while true {
            skipSpaces(&rest)
            guard rest.first == "," else { break }
            rest.removeFirst()
            args.append(try ExpressionSyntax(failures: failures).parse(&rest))
        }
        try expect(")", &rest, failures, "expected \",\" or \")\" in the arguments of \(name)")
        guard args.count == f.arity else {
            throw failures.fail("\(name) takes \(f.arity) argument\(f.arity == 1 ? "" : "s"), got \(args.count)", at: start)
        }
        input = rest
        return .call(name, args)
    }
}
