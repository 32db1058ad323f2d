import ArgumentParser
import Dream
import Foundation

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets", abstract: "List the presets, or show one's effective parameters.",
        subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per preset.",
            discussion:
                "Your own presets go in \(Presets.userDirectory().path)/NAME.json ($REVERIE_PRESETS or $XDG_CONFIG_HOME move it); one named like a built-in replaces it."
        )
        func run() throws {
            for preset in Presets.all() {
                let o = try ParameterOverrides.decodePreset(preset.data, file: preset.origin)
                let mark = preset.origin == "built-in" ? "" : " [\(preset.origin)]"
                print("\(preset.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(o.description ?? "")\(mark)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a preset's effective parameters as JSON.")
        @Argument(help: "Preset name or path.") var name: String
        func run() throws {
            let p = DreamParameters.defaults.applying(try Presets.load(name))
            print(try jsonString(p))
        }
    }
}

func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
