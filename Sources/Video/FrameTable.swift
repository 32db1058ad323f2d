import CFFmpeg

/// The presentation timestamps of every packet of one video stream, in display order,
/// found by demuxing the whole file once (no decoding). Gives the exact frame count and
/// maps frame numbers to timestamps for accurate seeking.
struct FrameTable {
    /// Sorted presentation timestamps (stream time base); empty when packets carry none.
    var pts: [Int64] = []
    /// Number of video packets.
    var count = 0
    /// Byte position of the first packet: where decoding from the start begins; nil when unknown.
    var firstPosition: Int64?
    /// Whether every packet had a timestamp (so `pts` indexes every frame).
    var complete: Bool { !pts.isEmpty && pts.count == count }
    /// Two packets share a timestamp: the timestamps cannot tell frames apart.
    var hasRepeatedTimestamps: Bool { pts.count > 1 && (1..<pts.count).contains { pts[$0] == pts[$0 - 1] } }

    /// The table of `count` frames at pts 0, 1, 2, ... (an image sequence's).
    static func numbered(count: Int) -> FrameTable {
        var table = FrameTable()
        table.count = max(0, count)
        table.pts = (0..<Int64(table.count)).map { $0 }
        return table
    }

    static func scan(path: String, streamIndex: Int) throws -> FrameTable {
        let input = try InputFile(path: path, probeStreams: false)
        let packet = try Packet(path: path)
        var table = FrameTable()
        while av_read_frame(input.context, packet.pointer) >= 0 {
            let p = packet.pointer.pointee
            // Packets flagged discard (cut by an MP4 edit list) never become frames.
            if Int(p.stream_index) == streamIndex && (p.flags & AV_PKT_FLAG_DISCARD) == 0 {
                table.count += 1
                if table.count == 1 && p.pos >= 0 { table.firstPosition = p.pos }
                let t = p.pts != noPTS ? p.pts : p.dts
                if t != noPTS { table.pts.append(t) }
            }
            av_packet_unref(packet.pointer)
        }
        table.pts.sort()
        return table
    }

    /// Frame durations vary by more than one tick (ignoring the last frame).
    var isVariable: Bool {
        guard complete, pts.count > 2 else { return false }
        var lo = Int64.max, hi = Int64.min
        for i in 1..<pts.count {
            let d = pts[i] - pts[i - 1]
            lo = min(lo, d); hi = max(hi, d)
        }
        return hi - lo > 1
    }

    /// The first frame whose timestamp is >= `t` (count when past the end).
    func firstIndex(atOrAfter t: Int64) -> Int {
        var lo = 0, hi = pts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pts[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
