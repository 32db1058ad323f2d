import CFFmpeg

/// How a stored picture must be turned (then mirrored) to display upright.
struct Orientation: Equatable {
    /// Degrees clockwise, a multiple of 90.
    var rotation: Int = 0
    /// Mirror left-right after rotating.
    var mirrored = false

    static let identity = Orientation()

    var swapsSides: Bool { rotation % 180 != 0 }

    func apply(_ image: RGBImage) -> RGBImage {
        let turned = image.rotated(clockwise: rotation)
        return mirrored ? turned.flippedHorizontally() : turned
    }

    /// From a 3x3 display matrix (FFmpeg's 9 x Int32 layout), rounded to quarter turns.
    init(displayMatrix: UnsafePointer<Int32>) {
        // av_display_rotation_get gives the counter-clockwise angle; the picture must turn the other way.
        let ccw = av_display_rotation_get(displayMatrix)
        guard ccw.isFinite else { return }
        // A negative determinant means the matrix also mirrors.
        let a = Double(displayMatrix[0]), b = Double(displayMatrix[1])
        let c = Double(displayMatrix[3]), d = Double(displayMatrix[4])
        mirrored = a * d - b * c < 0
        let degrees = Int((-ccw / 90).rounded()) * 90
        rotation = ((degrees % 360) + 360) % 360
    }

    init(rotation: Int = 0, mirrored: Bool = false) {
        self.rotation = ((rotation % 360) + 360) % 360
        self.mirrored = mirrored
    }

    /// From the EXIF orientation tag (1...8).
    init?(exif: Int) {
        switch exif {
        case 1: self.init()
        case 2: self.init(rotation: 0, mirrored: true)
        case 3: self.init(rotation: 180)
        case 4: self.init(rotation: 180, mirrored: true)
        case 5: self.init(rotation: 90, mirrored: true)
        case 6: self.init(rotation: 90)
        case 7: self.init(rotation: 270, mirrored: true)
        case 8: self.init(rotation: 270)
        default: return nil
        }
    }

    /// The stream's display matrix side data, if any.
    static func of(stream: UnsafeMutablePointer<AVStream>) -> Orientation {
        var size: Int = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else {
            return .identity
        }
        return data.withMemoryRebound(to: Int32.self, capacity: 9) { Orientation(displayMatrix: $0) }
    }

    /// A decoded frame's own orientation: EXIF "Orientation" metadata (JPEG) or display-matrix side data.
    static func of(frame: UnsafeMutablePointer<AVFrame>) -> Orientation? {
        if let e = av_dict_get(frame.pointee.metadata, "Orientation", nil, 0),
            let n = Int(cString(e.pointee.value)), let o = Orientation(exif: n)
        {
            return o
        }
        if let sd = av_frame_get_side_data(frame, AV_FRAME_DATA_DISPLAYMATRIX), sd.pointee.size >= 36 {
            return sd.pointee.data.withMemoryRebound(to: Int32.self, capacity: 9) { Orientation(displayMatrix: $0) }
        }
        return nil
    }
}
