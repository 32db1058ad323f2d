import Foundation
import TestSupport
import Video
import XCTest

/// Audio carried into new files: copied when the container allows, else re-encoded; trimmed and in sync.
final class AudioTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SyntheticMedia.temporaryDirectory("audio") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func writeWithAudio(_ name: String, from source: String, frames: Int, range: ClosedRange<Double>? = nil) throws -> VideoReader {
        let path = dir + "/" + name
        try VideoWriter.with(
            path: path, width: 32, height: 32, frameRate: Rational(25, 1),
            settings: EncoderSettings(preset: "ultrafast"), audioFrom: source, audioRange: range
        ) { w in
            for i in 0..<frames { try w.write(SyntheticMedia.frame(width: 32, height: 32, index: i)) }
        }
        return try VideoReader(path: path)
    }

    func testPCMIsReencodedToAACForMP4AndEndsWithTheVideo() throws {
        let wav = dir + "/tone.wav"
        FileManager.default.createFile(atPath: wav, contents: Data(SyntheticMedia.wav(seconds: 2)))
        let reader = try writeWithAudio("pcm.mp4", from: wav, frames: 20)  // 0.8 s of video
        let audio = try XCTUnwrap(reader.info.audio.first)
        XCTAssertEqual(audio.codec, "aac")
        XCTAssertEqual(audio.sampleRate, 8000)
        // Packet granularity: one AAC frame (1024 samples = 128 ms at 8 kHz).
        XCTAssertEqual(audio.duration, 0.8, accuracy: 0.13)
    }

    func testPCMIsCopiedIntoMKV() throws {
        let wav = dir + "/tone.wav"
        FileManager.default.createFile(atPath: wav, contents: Data(SyntheticMedia.wav(seconds: 2)))
        // 2 s of video, 1 s of audio range: the range, not the video, ends the audio.
        let reader = try writeWithAudio("pcm.mkv", from: wav, frames: 50, range: 0.5...1.5)
        let audio = try XCTUnwrap(reader.info.audio.first)
        XCTAssertEqual(audio.codec, "pcm_s16le")
        XCTAssertEqual(audio.duration, 1.0, accuracy: 0.13)
    }

    func testMP3IsReencodedToOpusForWebMAndTrimmed() throws {
        let source = Samples.path("cockatoo.mp4")
        guard FileManager.default.fileExists(atPath: source) else { throw XCTSkip("samples not fetched") }
        let reader = try writeWithAudio("trim.webm", from: source, frames: 50, range: 1.0...3.0)
        let audio = try XCTUnwrap(reader.info.audio.first)
        XCTAssertEqual(audio.codec, "opus")
        XCTAssertEqual(audio.duration, 2.0, accuracy: 0.05)
    }
}
