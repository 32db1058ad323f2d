import Foundation

/// The folder fetched models are cached in, and the one way a cached model is written: a temp
/// file beside it renamed into place, so a reader sees the old file or the new, never half.
public enum ModelCache {
    /// `$XDG_CACHE_HOME/reverie/models`, or `~/.cache/reverie/models`.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base: URL
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {  // the spec ignores relative paths
            base = URL(fileURLWithPath: xdg)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            base = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        }
        return base.appendingPathComponent("reverie").appendingPathComponent("models")
    }

    /// Writes `data` to `path` by temp file + rename(2), creating the folder when missing.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
            try data.write(to: temp)
            guard rename(temp.path, path) == 0 else {
                try? FileManager.default.removeItem(at: temp)
                throw DefaultModelError("\(path): cannot rename into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as DefaultModelError {
            throw error
        } catch {
            throw DefaultModelError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
