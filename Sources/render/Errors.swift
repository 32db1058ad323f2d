import ArgumentParser
import Foundation

/// The one place `render` prints a failure: one line on stderr, `error: …`, whatever threw it
/// (a usage or validation error, the libraries' errors, `RenderError`). Multi-line messages are
/// folded to their first line, ArgumentParser's "Error: " prefix dropped.
func printError(_ message: String) {
    let first = message.split(separator: "\n").first.map(String.init) ?? message
    let line = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
    FileHandle.standardError.write(Data("error: \(line)\n".utf8))
}
