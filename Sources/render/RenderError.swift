/// What `render` itself refuses or fails at: its files and folders, option values, presets and the
/// scheduler it submits to (the libraries' failures are `VideoError`, `DreamError`, `NetworkError`,
/// `ONNXError`, `DefaultModelError`). Every case prints as one line naming what is wrong.
enum RenderError: Error, CustomStringConvertible, Equatable {
    /// A file or folder the command reads or writes (an input, the output, a checkpoint, a part).
    case file(path: String, problem: String)
    /// An option's value, e.g. `--chunk` and "expects K/N ...".
    case option(name: String, problem: String)
    /// A preset that is not built in, not in the user folder and not a file.
    case unknownPreset(name: String, available: [String], userFolder: String)
    /// An external program the command runs (sbatch).
    case program(name: String, problem: String)

    var description: String {
        switch self {
        case let .file(path, problem): "\(path): \(problem)"
        case let .option(name, problem): "\(name) \(problem)"
        case let .unknownPreset(name, available, folder):
            "unknown preset '\(name)' (available: \(available.joined(separator: ", ")); your own go in \(folder))"
        case let .program(name, problem): "\(name): \(problem)"
        }
    }
}
