import Foundation
import TestSupport
import Video
import XCTest

/// Ctrl-C as a user gives it: one SIGINT leaves a checkpoint that `--resume` finishes into the same
/// frames as an uninterrupted render; two remove what was being written and exit at once.
final class InterruptTests: XCTestCase {
    var dir = ""
    var model = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-interrupt")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// `slow`: frames long enough (10000 steps, the most a frame takes) that two Ctrl-Cs land in one frame. 3000 steps
    /// were too few once the tiny model's 1x1 convs ran on the direct kernel: its frame sometimes
    /// ended, and the render exited on the first Ctrl-C, before the second (1 of 3 runs).
    func zoomArguments(_ output: String, slow: Bool = false) throws -> [String] {
        let picture = dir + "/start.png"
        if !FileManager.default.fileExists(atPath: picture) {
            try ImageFile.write(SyntheticMedia.frame(width: 128, height: 96, index: 5), to: picture)
        }
        return [
            "zoom", picture, "-o", output, "--model", model, "--layers", "block1", "--octaves", "2", "--steps", "2",
            "--zoom-steps", slow ? "10000" : "2", "--frames", "40", "--fps", "12", "--zoom", "1.4", "--width", "128", "--seed", "4",
            "--checkpoint-every", "100"
        ]
    }

    /// Starts the render and waits until it has written a frame (its first segment is open).
    func startAndWaitForAFrame(_ output: String, slow: Bool = false) throws -> Process {
        let process = try startRender(try zoomArguments(output, slow: slow), stderrPath: dir + "/stderr.txt")
        let folder = output + ".reverie-resume"
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            if files.contains(where: { $0.contains("segment-") }) { break }  // being written: a hidden partial file
            usleep(5_000)
        }
        if slow { usleep(300_000) }  // past the end of frame 1, into frame 2's long dream
        XCTAssertTrue(process.isRunning, "the render finished before it could be interrupted")
        return process
    }

    func testOneInterruptCheckpointsAndResumesExactly() throws {
        let full = dir + "/full.mp4", out = dir + "/out.mp4"
        var r = try runRender(try zoomArguments(full) + ["--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let process = try startAndWaitForAFrame(out)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        let stderr = (try? String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8)) ?? ""
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("--resume"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + ".reverie-resume/state.json"), "a checkpoint to resume from")
        r = try runRender(try zoomArguments(out) + ["--quiet", "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try VideoReader(path: full), b = try VideoReader(path: out)
        var n = 0
        while let fa = try a.nextFrame() {
            XCTAssertEqual(fa.image.pixels, try XCTUnwrap(b.nextFrame()).image.pixels, "frame \(n)")
            n += 1
        }
        XCTAssertEqual(n, 40)
    }

    func testSecondInterruptRemovesPartialFilesAndExits() throws {
        let out = dir + "/out.mp4"
        let process = try startAndWaitForAFrame(out, slow: true)
        kill(process.processIdentifier, SIGINT)
        usleep(300_000)  // as a person presses twice: two signals sent closer can merge into one pending signal
        kill(process.processIdentifier, SIGINT)
        let began = Date()
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(began), 10, "a second Ctrl-C exits at once")
        let stderr = (try? String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8)) ?? ""
        XCTAssertEqual(process.terminationStatus, 130, stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let folder = out + ".reverie-resume"
        let partial =
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            + ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        XCTAssertEqual(partial.filter { $0.contains(".partial-") }, [], "no partial file left behind")
    }
}
