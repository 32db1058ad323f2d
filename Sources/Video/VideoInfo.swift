/// One audio stream of a media file.
public struct AudioStreamInfo: Sendable, Equatable {
    /// Position of the stream among all of the file's streams (FFmpeg's stream index).
    public var index: Int
    /// Codec name as FFmpeg spells it, e.g. "aac", "opus", "pcm_s16le".
    public var codec: String
    /// Samples per second (per channel), e.g. 48000.
    public var sampleRate: Int
    /// Number of channels: 1 mono, 2 stereo, ...
    public var channels: Int
    /// Seconds: the stream's own duration, else its Matroska DURATION tag, else the file's; 0 when none is known.
    public var duration: Double
}

/// What Reverie sees in a media file (what `render probe` prints).
public struct VideoInfo: Sendable {
    /// Demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "png_pipe".
    public var container: String
    /// Codec of the video stream as FFmpeg names it, e.g. "h264", "hevc", "png".
    public var videoCodec: String
    /// Seconds, from the first to the end of the last video frame (for a stream without timestamps:
    /// the frame count over the frame rate).
    public var duration: Double
    /// Size of the frames `VideoReader` returns: after rotation and sample-aspect correction.
    /// (A JPEG's EXIF orientation is known only once decoded: `ImageFile.read` and `render probe` apply it.)
    public var width: Int
    /// Display height, after rotation and sample-aspect correction (see `width`).
    public var height: Int
    /// Size as stored in the stream, before rotation and aspect correction.
    public var codedWidth: Int
    /// Stored height, before rotation (see `codedWidth`).
    public var codedHeight: Int
    /// The stream's pixel format as FFmpeg names it, e.g. "yuv420p", "yuvj444p", "rgb24".
    public var pixelFormat: String
    /// Frames per second: the stream's base rate, or its average rate when `isVariableFrameRate`; for a
    /// stream without timestamps the rate it states, else 25.
    public var frameRate: Rational
    /// The unit of `VideoFrame.pts`: the stream's time base, or 1/frameRate for a stream without
    /// timestamps (a raw H.264/HEVC elementary stream, whose frames are timed i/frameRate).
    public var timeBase: Rational
    /// Shape of a stored pixel (width over height); 1/1 when unknown. `width` already has it applied.
    public var sampleAspectRatio: Rational
    /// Exact: the number of video packets, counted by demuxing the file.
    public var frameCount: Int
    /// Degrees the stored picture is turned clockwise for display (0, 90, 180, 270).
    public var rotation: Int
    /// Whether frame durations differ by more than one tick of `timeBase`; false unless every frame has a timestamp.
    public var isVariableFrameRate: Bool
    /// The file's audio streams in stream order; empty when there are none.
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
