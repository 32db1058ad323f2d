import Foundation

/// Progress on stderr: a live line on a terminal (redrawn in place), plain lines otherwise
/// (at most one every few seconds, so logs stay readable). Silent when quiet.
final class Progress {
    private let quiet: Bool
    private let live: Bool
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var lastLength = 0

    init(quiet: Bool) {
        self.quiet = quiet
        self.live = isatty(STDERR_FILENO) != 0
    }

    var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    /// `fraction` of the work done; `detail` says where.
    func update(fraction: Double, _ detail: String) {
        guard !quiet else { return }
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= (live ? 0.2 : 5) else { return }
        lastPrint = now
        let eta = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : .nan
        let text = "\(bar(fraction)) \(Int(fraction * 100))% \(detail) elapsed \(clock(elapsed)) eta \(clock(eta))"
        if live {
            let pad = String(repeating: " ", count: max(0, lastLength - text.count))
            FileHandle.standardError.write(Data("\r\(text)\(pad)".utf8))
            lastLength = text.count
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    /// A line that stays (ends the live line first).
    func say(_ line: String) {
        guard !quiet else { return }
        if live && lastLength > 0 { FileHandle.standardError.write(Data("\n".utf8)); lastLength = 0 }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    func finish() {
        guard !quiet, live, lastLength > 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        lastLength = 0
    }

    private func bar(_ f: Double) -> String {
        let n = Int((max(0, min(1, f)) * 20).rounded())
        return "[" + String(repeating: "#", count: n) + String(repeating: ".", count: 20 - n) + "]"
    }
}

func clock(_ seconds: TimeInterval) -> String {
    guard seconds.isFinite else { return "--:--" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}
