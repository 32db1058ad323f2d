/// The octave pyramid: the sizes a picture is dreamed at, smallest first.
/// Why: patterns have the size of the network's receptive field; dreaming a smaller copy first
/// makes large patterns, and the detail found there is carried up to the next size.
public struct Octave: Sendable, Equatable {
    /// k: this octave is the working size times scale^k (0: the working size itself).
    public var exponent: Int
    /// Width in pixels, at least 1.
    public var width: Int
    /// Height in pixels, at least 1.
    public var height: Int
}

/// Sizes for `width × height` at scale^k for k in `range`; octaves whose shorter side would fall
/// below `minimumSide` pixels are dropped (the network sees nothing useful there).
public func octaveSizes(width: Int, height: Int, range: OctaveRange, scale: Float, minimumSide: Int = 32) -> [Octave] {
    var sizes: [Octave] = []
    for k in range.lowest...range.highest {
        let f = Float(pow(Double(scale), Double(k)))
        let w = max(1, Int((Float(width) * f).rounded())), h = max(1, Int((Float(height) * f).rounded()))
        if min(w, h) >= minimumSide || k == range.highest { sizes.append(Octave(exponent: k, width: w, height: h)) }
    }
    return sizes
}

import Foundation
