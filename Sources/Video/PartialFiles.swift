import Foundation

/// Temporary outputs not yet renamed into place, so that an interruption can remove them too:
/// the destination is never touched before `finish()`, and after a second Ctrl-C (see the render
/// command's `Interrupt`) no hidden partial file is left beside it either. Never called from a
/// signal handler: it takes a lock.
public enum PartialFiles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []

    static func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.insert(path)
    }

    static func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.remove(path)
    }

    /// Deletes every temporary output still being written (a file, or an image sequence's
    /// folder); returns how many there were.
    @discardableResult
    public static func removeAll() -> Int {
        lock.lock(); defer { lock.unlock() }
        for p in paths where unlink(p) != 0 { try? FileManager.default.removeItem(atPath: p) }
        defer { paths.removeAll() }
        return paths.count
    }
}
