import Foundation
import Video

/// Ctrl-C during a render: the first one asks the render loop to stop at the next frame and
/// leave a resumable checkpoint; a second one removes the outputs being written and exits at once.
enum Interrupt {
    nonisolated(unsafe) static var requested = false

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested { _ = PartialFiles.removeAll(); _exit(130) }
            Interrupt.requested = true
        }
        signal(SIGTERM) { _ in
            if Interrupt.requested { _ = PartialFiles.removeAll(); _exit(143) }
            Interrupt.requested = true
        }
    }
}

struct Interrupted: Error, CustomStringConvertible {
    let destination: String
    var description: String { "interrupted: the render of \(destination) is saved; run the same command with --resume to continue" }
}
