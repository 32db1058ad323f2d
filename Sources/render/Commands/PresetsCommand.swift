import ArgumentParser
import Dream
import Foundation

struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets", abstract: "List the presets, or show one's effective parameters.",
        subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per preset.")
        func run() throws {
            try reportingErrors {
                for (name, url) in Presets.all() {
                    let o = try Presets.load(url.path)
                    print("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(o.description ?? "")")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a preset's effective parameters as JSON.")
        @Argument(help: "Preset name or path.") var name: String
        func run() throws {
            try reportingErrors {
                let p = DreamParameters.defaults.applying(try Presets.load(name))
                print(try jsonString(p))
            }
        }
    }
}

func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
