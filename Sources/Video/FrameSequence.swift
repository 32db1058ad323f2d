import Foundation

/// A numbered image sequence, named as FFmpeg's image2 muxer and demuxer name one: a printf-style
/// frame number in the file name, `frames/%05d.png` for frames/00001.png, frames/00002.png, ...
/// (`%d` takes no padding; `%5d` pads with zeros like `%05d`, as FFmpeg does; `%%` is a literal %).
/// The folder part holds no pattern. Reading and writing the pictures is FFmpeg's (image2); this
/// type only parses the name, lists the folder and names the files.
public struct FrameSequence: Sendable, Equatable {
    /// The first number written: 1, the default of FFmpeg's image2 muxer (`ffmpeg -i in.mp4 f/%05d.png`
    /// numbers from 1 too). The image2 demuxer reads a sequence from whatever number it starts at.
    public static let defaultStartNumber = 1
    /// The rate of a sequence read without one: 25, as FFmpeg's image2 demuxer assumes.
    public static let defaultFrameRate = Rational(25, 1)
    /// Extensions read as sequences (FFmpeg guesses the decoder from them); written: PNG only.
    public static let readableExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"]

    /// The pattern as given, e.g. "out/frames/%05d.png".
    public let pattern: String
    /// The folder holding the frames ("." when the pattern has no folder part).
    public let folder: String
    /// The file name part, e.g. "%05d.png".
    public let fileName: String
    private let prefix: String, suffix: String, digits: Int

    /// Whether `path` names a sequence rather than a file: an image extension and a frame number
    /// conversion (`%d`, `%05d`) in the file name.
    public static func isPattern(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        guard readableExtensions.contains((name as NSString).pathExtension.lowercased()) else { return false }
        return (try? conversion(in: name)) != nil  // nil: no frame number, or a malformed one
    }

    /// A sequence named by `pattern` (`frames/%05d.png`); throws `VideoError` for a malformed pattern.
    public init(pattern: String) throws {
        self.pattern = pattern
        let name = (pattern as NSString).lastPathComponent
        let parent = (pattern as NSString).deletingLastPathComponent
        folder = parent.isEmpty ? "." : parent
        fileName = name
        guard !folder.contains("%") else {
            throw VideoError("frame sequence", path: pattern, message: "the folder part cannot hold a % (only the file name is numbered)")
        }
        guard let c = try FrameSequence.conversion(in: name) else {
            throw VideoError(
                "frame sequence", path: pattern,
                message: "the file name has no frame number: use a pattern like %05d.png (frames 00001.png, 00002.png, ...)")
        }
        (prefix, digits, suffix) = c
    }

    /// The file name's literal text before and after its one `%d`, and the zero padding; nil
    /// without a conversion; throws on a second one or on a `%` that is not `%d`, `%Nd` or `%%`.
    private static func conversion(in name: String) throws -> (String, Int, String)? {
        var prefix = "", suffix = "", found: Int? = nil
        var chars = Array(name)[...]
        while let c = chars.popFirst() {
            guard c == "%" else {
                if found == nil { prefix.append(c) } else { suffix.append(c) }
                continue
            }
            if chars.first == "%" {
                chars.removeFirst()
                if found == nil { prefix.append("%") } else { suffix.append("%") }
                continue
            }
            var width = ""
            while let d = chars.first, d.isASCII, d.isNumber { width.append(d); chars.removeFirst() }
            guard chars.popFirst() == "d", width.count <= 2 else {
                throw VideoError("frame sequence", path: name, message: "a % must start a frame number like %d or %05d (%% for a literal %)")
            }
            guard found == nil else { throw VideoError("frame sequence", path: name, message: "the file name has more than one frame number") }
            found = Int(width) ?? 0
        }
        return found.map { (prefix, $0, suffix) }
    }

    /// The file of frame number `number`, e.g. "frames/00007.png".
    public func path(number: Int) -> String {
        let parent = (pattern as NSString).deletingLastPathComponent
        return parent.isEmpty ? name(number: number) : parent + "/" + name(number: number)
    }

    /// The file name of frame number `number`, e.g. "00007.png".
    public func name(number: Int) -> String {
        let n = String(number)
        return prefix + String(repeating: "0", count: max(0, digits - n.count)) + n + suffix
    }

    /// The frame number a file name stands for, or nil when the name is not one of this sequence's.
    public func number(ofFileNamed name: String) -> Int? {
        guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let middle = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard middle.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(middle), self.name(number: n) == name else { return nil }
        return n
    }

    /// The numbers of the files of the sequence in its folder, ascending (empty when the folder is missing).
    public func existingNumbers() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { number(ofFileNamed: $0) }.sorted()
    }

}
