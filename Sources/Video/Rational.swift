import CFFmpeg

/// An exact ratio, as FFmpeg keeps frame rates and time bases (e.g. 30000/1001).
public struct Rational: Sendable, Equatable, CustomStringConvertible {
    /// Numerator (30000 of 30000/1001).
    public var num: Int32
    /// Denominator; 0 means unknown (then `value` is 0).
    public var den: Int32

    /// `num`/`den` as given (not reduced).
    public init(_ num: Int32, _ den: Int32) {
        self.num = num
        self.den = den
    }

    /// `num`/`den` as given (not reduced); the labelled spelling of `init(_:_:)`.
    public init(num: Int32, den: Int32) { self.init(num, den) }

    init(_ r: AVRational) { self.init(r.num, r.den) }

    /// The ratio as a Double; 0 when the denominator is 0 (FFmpeg's "unknown").
    public var value: Double { den == 0 ? 0 : Double(num) / Double(den) }

    /// Both terms are positive: usable as a frame rate or time base (FFmpeg writes unknown ones as 0/1 or 0/0).
    public var isValid: Bool { num > 0 && den > 0 }

    /// "30000/1001", or "25" when the denominator is 1.
    public var description: String { den == 1 ? "\(num)" : "\(num)/\(den)" }

    var av: AVRational { AVRational(num: num, den: den) }

    /// The closest ratio with a bounded denominator (for rates given as a Double).
    public init(approximating value: Double, maxDenominator: Int32 = 1_001_000) {
        let q = av_d2q(value, maxDenominator)
        self.init(q.num, q.den)
    }
}
