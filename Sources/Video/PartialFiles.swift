import Dispatch
import Foundation

/// Temporary outputs not yet renamed into place, so that an interruption can remove them too:
/// the destination is never touched before `finish()`, and with `removeOnInterrupt()` no hidden
/// partial file is left beside it either.
public enum PartialFiles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.insert(path)
    }

    static func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.remove(path)
    }

    /// Deletes every temporary output still being written; returns how many there were.
    @discardableResult
    public static func removeAll() -> Int {
        lock.lock(); defer { lock.unlock() }
        for p in paths { unlink(p) }
        defer { paths.removeAll() }
        return paths.count
    }

    /// On SIGINT or SIGTERM: delete partial outputs, then exit with status 128 + signal.
    /// Call once, at program start.
    public static func removeOnInterrupt() {
        lock.lock(); defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                removeAll()
                exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}
