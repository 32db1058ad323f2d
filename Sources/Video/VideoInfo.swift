/// One audio stream of a media file.
public struct AudioStreamInfo: Sendable, Equatable {
    public var index: Int
    public var codec: String
    public var sampleRate: Int
    public var channels: Int
    public var duration: Double
}

/// What Reverie sees in a media file (what `render probe` prints).
public struct VideoInfo: Sendable {
    /// Demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "png_pipe".
    public var container: String
    public var videoCodec: String
    /// Seconds, from the first to the end of the last video frame (for a stream without timestamps:
    /// the frame count over the frame rate).
    public var duration: Double
    /// Size of the frames `VideoReader` returns: after rotation and sample-aspect correction.
    /// (A JPEG's EXIF orientation is known only once decoded: `ImageFile.read` and `render probe` apply it.)
    public var width: Int
    public var height: Int
    /// Size as stored in the stream, before rotation and aspect correction.
    public var codedWidth: Int
    public var codedHeight: Int
    public var pixelFormat: String
    public var frameRate: Rational
    /// The unit of `VideoFrame.pts`: the stream's time base, or 1/frameRate for a stream without
    /// timestamps (a raw H.264/HEVC elementary stream, whose frames are timed i/frameRate).
    public var timeBase: Rational
    public var sampleAspectRatio: Rational
    /// Exact: the number of video packets, counted by demuxing the file.
    public var frameCount: Int
    /// Degrees the stored picture is turned clockwise for display (0, 90, 180, 270).
    public var rotation: Int
    public var isVariableFrameRate: Bool
    public var audio: [AudioStreamInfo]
    /// Container-level tags (e.g. "reverie", "comment", "encoder").
    public var metadata: [String: String]

    /// A numbered image sequence (`frames/%05d.png`) read through FFmpeg's image2 demuxer.
    public var isSequence = false

    /// Whether this is a single picture (PNG, JPEG, ... ) rather than a video.
    public var isStill: Bool {
        container.hasSuffix("_pipe") || (container == "image2" && !isSequence) || (container == "gif" && frameCount <= 1)
    }
}
