import Foundation
import Synchronization
import Video

/// Ctrl-C (or SIGTERM) during a render: the first asks the render loop to stop after the frame it
/// is dreaming and leave a resumable checkpoint; a second removes the outputs being written and
/// exits at once.
///
/// The signal handler itself only bumps an atomic counter (a lock-free add is async-signal-safe;
/// locks, allocation and file deletion are not). Everything else runs on ordinary threads: the
/// render loop polls `requested`, and a watcher thread acts on a second signal.
enum Interrupt {
    private static let signals = Atomic<Int>(0)
    private static let lastSignal = Atomic<Int32>(0)
    private static let installed = Atomic<Bool>(false)

    static var requested: Bool { signals.load(ordering: .relaxed) > 0 }

    static func install() {
        // Touch the globals here, so the handler never runs their one-time initialisation.
        _ = signals.load(ordering: .relaxed); _ = lastSignal.load(ordering: .relaxed)
        guard installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { number in
                Interrupt.lastSignal.store(number, ordering: .relaxed)
                Interrupt.signals.add(1, ordering: .relaxed)
            }
        }
        let watcher = Thread {
            while Interrupt.signals.load(ordering: .relaxed) < 2 { usleep(10_000) }
            PartialFiles.removeAll()
            _exit(128 + Interrupt.lastSignal.load(ordering: .relaxed))
        }
        watcher.name = "reverie-interrupt"
        watcher.start()
    }
}

struct Interrupted: Error, CustomStringConvertible {
    let destination: String
    var description: String { "interrupted: the render of \(destination) is saved; run the same command with --resume to continue" }
}
