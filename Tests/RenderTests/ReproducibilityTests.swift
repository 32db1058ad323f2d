import Dream
import Foundation
import TestSupport
import Video
import XCTest

/// Same inputs and arguments give the same frames: rendered twice (the second time with the CPU
/// loaded by competing threads), and resumed after a real SIGKILL, every decoded frame must match.
final class ReproducibilityTests: XCTestCase {
    var dir = ""
    var model = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-repro")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A clip with texture and motion, so the encoder has real decisions to make.
    func sampleClip() throws -> String {
        if let sample = ImageNetInput.samplePath("cockatoo.mp4") { return sample }
        let clip = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: clip, width: 160, height: 96, count: 20, frameRate: Rational(20, 1))
        return clip
    }

    func videoArguments(_ input: String, _ output: String) -> [String] {
        [
            "video", input, "-o", output, "--model", model, "--layers", "block1", "--octaves", "2", "--steps", "2",
            "--frame-steps", "1", "--width", "160", "--duration", "1", "--seed", "3", "--quiet", "--checkpoint-every", "4"
        ]
    }

    func zoomArguments(_ input: String, _ output: String) -> [String] {
        [
            "zoom", input, "-o", output, "--model", model, "--layers", "block1", "--octaves", "2", "--steps", "2",
            "--zoom-steps", "1", "--frames", "24", "--fps", "12", "--zoom", "1.4", "--width", "128", "--loop",
            "--seed", "3", "--quiet", "--checkpoint-every", "4"
        ]
    }

    func testVideoAndZoomAreByteIdenticalUnderLoad() throws {
        let clip = try sampleClip()
        let picture = dir + "/start.png"
        try ImageFile.write(SyntheticMedia.frame(width: 128, height: 96, index: 5), to: picture)
        for (name, args) in [("video", videoArguments), ("zoom", { [self] in zoomArguments(picture, $1) })] {
            let quiet = dir + "/\(name)-quiet.mp4", loaded = dir + "/\(name)-loaded.mp4"
            var r = try runRender(args(clip, quiet))
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try withCompetingLoad { try runRender(args(clip, loaded)) }
            XCTAssertEqual(r.status, 0, r.stderr)
            try assertSameFrames(quiet, loaded, what: "\(name) rendered twice, the second time under load")
        }
    }

    func testImageIsByteIdenticalUnderLoad() throws {
        let input = dir + "/in.png"
        try ImageFile.write(SyntheticMedia.frame(width: 96, height: 64, index: 2), to: input)
        let args = { [model] (out: String) in
            [
                "image", input, "-o", out, "--model", model, "--layers", "block1", "--octaves", "3",
                "--steps", "3", "--seed", "9", "--quiet"
            ]
        }
        var r = try runRender(args(dir + "/a.png"))
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try withCompetingLoad { try runRender(args(dir + "/b.png")) }
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageFile.read(path: dir + "/a.png").pixels, try ImageFile.read(path: dir + "/b.png").pixels)
    }

    /// Kill -9 from outside while the render runs (after its first checkpoint, mid-frame), then
    /// `--resume`: the frames are those of the uninterrupted render.
    func testResumeAfterSIGKILLIsExact() throws {
        let clip = try sampleClip()
        let picture = dir + "/start.png"
        try ImageFile.write(SyntheticMedia.frame(width: 128, height: 96, index: 5), to: picture)
        for (name, args) in [("video", videoArguments), ("zoom", { [self] in zoomArguments(picture, $1) })] {
            let full = dir + "/\(name)-full.mp4", resumed = dir + "/\(name)-resumed.mp4"
            var r = try runRender(args(clip, full))
            XCTAssertEqual(r.status, 0, r.stderr)
            let process = try startRender(args(clip, resumed))
            let state = resumed + ".reverie-resume/state.json"
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: state) && process.isRunning && Date() < deadline { usleep(2_000) }
            usleep(30_000)  // into the frames after the checkpoint
            XCTAssertTrue(process.isRunning, "\(name): the render finished before it could be killed")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal)
            XCTAssertFalse(FileManager.default.fileExists(atPath: resumed), "nothing at the destination after a kill")
            // As a kill during the final encode leaves it: a hidden partial output beside the destination.
            let stale = dir + "/.\(name)-resumed.mp4.partial-1-2"
            _ = FileManager.default.createFile(atPath: stale, contents: Data("half".utf8))
            r = try runRender(args(clip, resumed) + ["--resume"])
            XCTAssertEqual(r.status, 0, r.stderr)
            try assertSameFrames(full, resumed, what: "\(name) killed and resumed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "the killed run's partial output is cleaned up")
        }
    }

    func assertSameFrames(_ a: String, _ b: String, what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ra = try VideoReader(path: a), rb = try VideoReader(path: b)
        var n = 0, differing: [Int] = []
        while let fa = try ra.nextFrame() {
            guard let fb = try rb.nextFrame() else { XCTFail("\(what): \(b) has only \(n) frames", file: file, line: line); return }
            if fa.image.pixels != fb.image.pixels { differing.append(n) }
            n += 1
        }
        XCTAssertNil(try rb.nextFrame(), "\(what): \(b) has more frames than \(a)", file: file, line: line)
        XCTAssertGreaterThan(n, 1, file: file, line: line)
        XCTAssertEqual(differing, [], "\(what): these of \(n) frames differ", file: file, line: line)
    }
}

/// Runs `body` while two threads of this process keep both cores busy.
func withCompetingLoad<T>(_ body: () throws -> T) rethrows -> T {
    let stop = LoadFlag()
    let threads = (0..<2).map { _ in
        Thread {
            var x: UInt64 = 1
            while !stop.isSet { for _ in 0..<10_000 { x = x &* 6364136223846793005 &+ 1 } }
            if x == 0 { print(x) }
        }
    }
    threads.forEach { $0.start() }
    defer { stop.set() }
    return try body()
}

final class LoadFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// Starts the built `render` executable without waiting for it; its stderr goes to `stderrPath`
/// when given, else (like its stdout) nowhere.
func startRender(_ arguments: [String], stderrPath: String? = nil) throws -> Process {
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent("render")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    if let stderrPath {
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
    } else {
        process.standardError = FileHandle.nullDevice
    }
    try process.run()
    return process
}
