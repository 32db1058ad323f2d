import Foundation
import TestSupport
import Video
import XCTest

/// `render` copied out of the build folder (as `install` puts it on the PATH) and run from an
/// empty folder still has its presets; user presets come from the documented folder.
final class InstallTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try SyntheticMedia.temporaryDirectory("render-install")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testCopiedBinaryWorksFromAnEmptyFolder() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/work", withIntermediateDirectories: true)
        let binary = URL(fileURLWithPath: dir + "/bin/render")
        try fm.copyItem(at: productsDirectory().appendingPathComponent("render"), to: binary)
        let model = dir + "/work/tiny.onnx", input = dir + "/work/in.png"
        try writeTinyDreamModel(to: model)
        try ImageFile.write(SyntheticMedia.frame(width: 64, height: 48, index: 1), to: input)
        let env = ["XDG_CONFIG_HOME": dir + "/config", "REVERIE_PRESETS": ""]
        func run(_ args: [String]) throws -> CommandResult {
            try runRender(args, environment: env, executable: binary, directory: dir + "/empty")
        }

        var r = try run(["presets"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["classic", "deep", "subtle", "swirl", "video", "zoom"] {
            XCTAssertTrue(r.stdout.contains(name), "\(name) missing from: \(r.stdout)")
        }
        r = try run([
            "image", input, "-o", dir + "/work/out.png", "--model", model, "--preset", "classic", "--layers", "block1",
            "--octaves", "1", "--steps", "1", "--quiet"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(fm.fileExists(atPath: dir + "/work/out.png"))

        // A user preset, from the documented folder.
        try fm.createDirectory(atPath: dir + "/config/reverie/presets", withIntermediateDirectories: true)
        try Data(#"{"description": "mine, from the user folder", "layers": ["block1"], "steps": 2, "octaves": 1}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/config/reverie/presets/mine.json"))
        r = try run(["presets"])
        XCTAssertTrue(r.stdout.contains("mine, from the user folder"), r.stdout)
        r = try run(["presets", "show", "mine"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"steps\" : 2"), r.stdout)
        r = try run(["image", input, "-o", dir + "/work/mine.png", "--model", model, "--preset", "mine", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["image", input, "-o", dir + "/work/never.png", "--model", model, "--preset", "nosuch", "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("nosuch") && r.stderr.contains("classic") && r.stderr.contains(dir + "/config/reverie/presets"), r.stderr)
    }
}
