import Dream
import Foundation

/// Finds and reads preset files: `presets/NAME.json` beside the executable's checkout (or in
/// $REVERIE_PRESETS, or the working directory), or any JSON file given by path.
enum Presets {
    static func directories() -> [URL] {
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["REVERIE_PRESETS"] { dirs.append(URL(fileURLWithPath: env)) }
        // .build/<config>/render → walk up to the checkout that holds presets/.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            dirs.append(dir.appendingPathComponent("presets"))
            dir = dir.deletingLastPathComponent()
        }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("presets"))
        return dirs
    }

    /// name → file, for every preset found (first directory wins).
    static func all() -> [(name: String, url: URL)] {
        var seen = Set<String>(), found: [(String, URL)] = []
        for dir in directories() {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for f in files.sorted() where f.hasSuffix(".json") {
                let name = String(f.dropLast(5))
                if seen.insert(name).inserted { found.append((name, dir.appendingPathComponent(f))) }
            }
        }
        return found
    }

    static func url(for nameOrPath: String) throws -> URL {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
            return URL(fileURLWithPath: nameOrPath)
        }
        guard let hit = all().first(where: { $0.name == nameOrPath }) else {
            let names = all().map(\.name).joined(separator: ", ")
            throw DreamError("unknown preset '\(nameOrPath)' (available: \(names.isEmpty ? "none found" : names))")
        }
        return hit.url
    }

    static func load(_ nameOrPath: String) throws -> ParameterOverrides {
        let url = try url(for: nameOrPath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DreamError("\(url.path): cannot read the preset file")
        }
        return try ParameterOverrides.decodePreset(data, file: url.path)
    }
}
