import Foundation
import TestSupport
import Video
import XCTest

/// `render video --chunk K/N`, `render join` and `render farm slurm`, with a tiny model.
final class ChunkTests: XCTestCase {
    var dir = ""
    var model = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-chunks")
        model = dir + "/tiny.onnx"
        try writeTinyDreamModel(to: model)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func clip() throws -> String {
        if let sample = ImageNetInput.samplePath("cockatoo.mp4") { return sample }  // has audio
        let path = dir + "/clip.mp4"
        try SyntheticMedia.writeClip(to: path, width: 96, height: 64, count: 30, frameRate: Rational(20, 1))
        return path
    }

    func common(_ input: String, _ output: String) -> [String] {
        [
            "video", input, "-o", output, "--model", model, "--layers", "block1", "--octaves", "2", "--steps", "2",
            "--frame-steps", "1", "--width", "96", "--duration", "1.5", "--seed", "2", "--crf", "0", "--quiet"
        ]
    }

    /// With a warm-up reaching back to the range's start, every chunk carries exactly what a
    /// sequential render carries: the joined frames (lossless) equal the sequential render's, with
    /// the same timestamps and the source's audio.
    func testJoinedChunksMatchASequentialRender() throws {
        let input = try clip()
        let sequential = dir + "/seq.mp4", chunked = dir + "/chunked.mp4"
        var r = try runRender(common(input, sequential))
        XCTAssertEqual(r.status, 0, r.stderr)
        for k in [2, 0, 1] {  // any order, as a scheduler runs them
            r = try runRender(common(input, chunked) + ["--chunk", "\(k)/3", "--warmup", "100"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: chunked), "the parts are not the output")
        r = try runRender(["join", chunked])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("30 frames from 3 parts"), r.stdout)
        let a = try VideoReader(path: sequential), b = try VideoReader(path: chunked)
        XCTAssertEqual(a.info.frameCount, 30)
        XCTAssertEqual(b.info.frameCount, 30)
        XCTAssertEqual(b.info.audio.count, a.info.audio.count, "the source's audio, as in a sequential render")
        XCTAssertEqual(b.info.duration, a.info.duration, accuracy: 1e-3)
        var n = 0
        while let fa = try a.nextFrame() {
            let fb = try XCTUnwrap(b.nextFrame())
            XCTAssertEqual(fa.seconds, fb.seconds, accuracy: 1e-6, "frame \(n) time")
            XCTAssertEqual(fa.image.pixels, fb.image.pixels, "frame \(n)")
            n += 1
        }
        XCTAssertEqual(n, 30)
        // A rerun of a finished chunk (a requeued task) does nothing.
        r = try runRender(common(input, chunked) + ["--chunk", "1/3", "--warmup", "100"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("already rendered"), r.stdout)
    }

    func testJoinRefusesMissingOrForeignParts() throws {
        let input = try clip()
        let out = dir + "/out.mp4"
        for k in 0..<3 {
            let r = try runRender(common(input, out) + ["--chunk", "\(k)/3", "--warmup", "0.2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let part1 = out + ".parts/part-1-of-3.mp4", saved = dir + "/saved.mp4"
        try FileManager.default.moveItem(atPath: part1, toPath: saved)
        var r = try runRender(["join", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("part 1 of 3 is missing"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // Part 1 made with other parameters.
        r = try runRender(common(input, out) + ["--chunk", "1/3", "--warmup", "0.2", "--steps", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runRender(["join", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("other parameters"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        try FileManager.default.removeItem(atPath: part1)
        try FileManager.default.moveItem(atPath: saved, toPath: part1)
        r = try runRender(["join", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try VideoReader(path: out).info.frameCount, 30)
        for bad in ["3/3", "-1/3", "1/0", "x"] {
            r = try runRender(common(input, dir + "/bad.mp4") + ["--chunk", bad])
            XCTAssertNotEqual(r.status, 0, bad)
        }
    }

    func testFarmWritesAJobArrayAndAJoin() throws {
        let input = try clip()
        let out = dir + "/farm.mp4"
        let r = try runRender(["farm", "slurm", input, "-o", out, "--chunks", "4", "--mem", "2G", "--", "--preset", "video", "--width", "96"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let chunks = try String(contentsOfFile: out + ".farm/chunks.sbatch", encoding: .utf8)
        let join = try String(contentsOfFile: out + ".farm/join.sbatch", encoding: .utf8)
        let k8s = try String(contentsOfFile: out + ".farm/indexed-job.yaml", encoding: .utf8)
        XCTAssertTrue(chunks.contains("#SBATCH --array=0-3"), chunks)
        XCTAssertTrue(chunks.contains("#SBATCH --mem=2G"), chunks)
        XCTAssertTrue(chunks.contains("--chunk \"${SLURM_ARRAY_TASK_ID}/4\""), chunks)
        XCTAssertTrue(chunks.contains("--preset video --width 96"), chunks)
        XCTAssertTrue(chunks.contains("--resume"), "a rerun resumes: \(chunks)")
        XCTAssertTrue(join.contains("join \(URL(fileURLWithPath: out).standardizedFileURL.path) --overwrite"), join)
        XCTAssertTrue(k8s.contains("completionMode: Indexed") && k8s.contains("JOB_COMPLETION_INDEX"), k8s)
        XCTAssertTrue(r.stdout.contains("--dependency=afterok"), r.stdout)
        let bad = try runRender(["farm", "slurm", input, "-o", out, "--chunks", "4", "--", "--chunk", "1/2"])
        XCTAssertNotEqual(bad.status, 0)
    }
}
