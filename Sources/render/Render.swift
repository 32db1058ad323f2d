import ArgumentParser
import Dream
import Foundation

@main
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Reverie: dream videos, zoom loops and stills with DeepDream.",
        version: "0.1.0",
        subcommands: [
            VideoCommand.self, JoinCommand.self, FarmCommand.self, ZoomCommand.self, ImageCommand.self, LayersCommand.self, PresetsCommand.self,
            ProbeCommand.self, ScoreCommand.self, ModelCommand.self
        ])

    /// Like ArgumentParser's own, except that a usage or validation error is one line on stderr
    /// (`error: …`), as every other error is, rather than the message followed by the usage.
    static func main() {
        BLASThreads.restartWithTunedOpenBLASIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)  // the command has already said what went wrong
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }  // --help, --version
            // Usage and validation errors in ArgumentParser's words; everything else as it describes itself.
            printError(code == .validationFailure ? message(for: error) : String(describing: error))
            Foundation.exit(code.rawValue)
        }
    }
}
