import Dream
import Foundation
import Video

/// Where a still comes from: an image file, or one frame of a video.
struct FrameChoice {
    var frame: Int?
    var at: Double?
    var isSet: Bool { frame != nil || at != nil }
}

let stillExtensions: Set<String> = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"]

func isStillPath(_ path: String) -> Bool {
    stillExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) && !FrameSequence.isPattern(path)
}

/// The rate of an image sequence input: "24000/1001", "24" or "23.976" (the nearest ratio).
func parseRate(_ text: String, option: String) throws -> Rational {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    if parts.count == 2, let n = Int32(parts[0]), let d = Int32(parts[1]), n > 0, d > 0 { return Rational(n, d) }
    if parts.count == 1, let v = Double(text), v.isFinite, v > 0, v <= 1000 { return Rational(approximating: v) }
    throw RenderError.option(name: option, problem: "expects a frame rate like 25, 24000/1001 or 29.97, got '\(text)'")
}

/// Reads the picture to dream: a still, or exactly frame N (or the frame shown at a time) of a
/// video or of an image sequence (`frames/%05d.png`, at `sequenceRate`) — the same frame a video
/// render starting there would begin with.
func readPicture(_ path: String, choice: FrameChoice, sequenceRate: Rational? = nil) throws -> RGBImage {
    if isStillPath(path) && !choice.isSet { return try ImageFile.read(path: path) }
    if isStillPath(path) { throw RenderError.file(path: path, problem: "--frame and --at apply to videos, not to still images") }
    let reader = try VideoReader(path: path, sequenceRate: sequenceRate)
    if let n = choice.frame {
        guard n >= 0 else { throw RenderError.file(path: path, problem: "--frame must be 0 or more, got \(n)") }
        guard n < reader.info.frameCount else {
            throw RenderError.file(
                path: path,
                problem:
                    "frame \(n) is past the end (the \(reader.info.isSequence ? "sequence" : "video") has \(reader.info.frameCount) frames, 0...\(reader.info.frameCount - 1))"
            )
        }
        try reader.seek(toFrame: n)
    } else if let t = choice.at {
        guard t >= 0, t < reader.info.duration else {
            throw RenderError.file(path: path, problem: "--at \(t) is outside the video (duration \(String(format: "%.3f", reader.info.duration)) s)")
        }
        try reader.seek(toSeconds: t)
    }
    guard let frame = try reader.nextFrame() else { throw RenderError.file(path: path, problem: "no frame could be decoded") }
    return frame.image
}

/// The working size: `width` wide with the aspect kept (even height), or the picture's own.
func workingSize(of image: RGBImage, width: Int?) -> (width: Int, height: Int) {
    guard let width, width != image.width else { return (image.width, image.height) }
    // Even, so 4:2:0 video needs no padding.
    let height = max(2, 2 * Int((Double(image.height) * Double(width) / Double(image.width) / 2).rounded()))
    return (width, height)
}

/// A guide image for a render (`--guide`, or a preset's "guide"): the picture, and the SHA-256 of
/// its file for the provenance record and the checkpoint fingerprint (a resume with another guide
/// is refused).
struct GuideImage {
    var picture: Tensor
    var sha256: String

    /// Reads `path`: a still, or the first frame of a video. Fails with one line naming the file.
    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw RenderError.file(path: path, problem: "no such guide image") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RenderError.file(path: path, problem: "the guide image cannot be read")
        }
        do {
            picture = tensor(from: try readPicture(path, choice: FrameChoice()))
        } catch {
            throw RenderError.file(path: path, problem: "not a readable guide image (\(error))")
        }
        sha256 = SHA256.hex(data)
    }

    /// The guide `parameters` name, read; nil when they name none.
    static func load(_ parameters: DreamParameters) throws -> GuideImage? {
        try parameters.guide.map { try GuideImage(path: $0) }
    }
}
