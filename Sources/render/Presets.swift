import Dream
import Foundation

/// Where presets come from: the built-in ones (`BuiltinPresets`, compiled in), and the user's own
/// folder — `$REVERIE_PRESETS`, else `$XDG_CONFIG_HOME/reverie/presets`, else
/// `~/.config/reverie/presets` — whose `NAME.json` files add presets or replace a built-in of the
/// same name. `--preset PATH.json` (anything with a `/` or ending in `.json`) reads that file.
/// Nothing depends on the working directory or on where the executable is.
enum Presets {
    struct Preset {
        var name: String
        var origin: String  // "built-in", or the user file's path
        var data: Data
    }

    static func userDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["REVERIE_PRESETS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        let config: URL
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {  // the spec ignores relative paths
            config = URL(fileURLWithPath: xdg)
        } else {
            config = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        }
        return config.appendingPathComponent("reverie").appendingPathComponent("presets")
    }

    /// Every preset by name, sorted; a user file replaces the built-in of its name.
    static func all() -> [Preset] {
        var byName: [String: Preset] = [:]
        for (name, json) in BuiltinPresets.all { byName[name] = Preset(name: name, origin: "built-in", data: Data(json.utf8)) }
        let dir = userDirectory()
        for f in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where f.hasSuffix(".json") {
            let url = dir.appendingPathComponent(f)
            if let data = FileManager.default.contents(atPath: url.path) {
                byName[String(f.dropLast(5))] = Preset(name: String(f.dropLast(5)), origin: url.path, data: data)
            }
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    static func load(_ nameOrPath: String) throws -> ParameterOverrides {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: nameOrPath) else {
                throw RenderError.file(path: nameOrPath, problem: "cannot read the preset file")
            }
            return try ParameterOverrides.decodePreset(data, file: nameOrPath)
        }
        let presets = all()
        guard let hit = presets.first(where: { $0.name == nameOrPath }) else {
            throw RenderError.unknownPreset(name: nameOrPath, available: presets.map(\.name), userFolder: userDirectory().path)
        }
        return try ParameterOverrides.decodePreset(hit.data, file: hit.origin == "built-in" ? "built-in preset '\(hit.name)'" : hit.origin)
    }
}
