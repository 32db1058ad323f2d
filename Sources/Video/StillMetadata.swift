import Foundation

/// PNG text chunks, inserted right after IHDR (FFmpeg's PNG encoder cannot write them): tEXt
/// ("key\0value") for ASCII values, iTXt (uncompressed UTF-8) otherwise, since tEXt is Latin-1.
enum PNGText {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    static func isPNG(_ b: [UInt8]) -> Bool { b.count >= 8 && Array(b[0..<8]) == signature }

    static func insert(key: String, value: String, into png: [UInt8], path: String) throws -> [UInt8] {
        let keyBytes = Array(key.utf8)
        guard (1...79).contains(keyBytes.count), !keyBytes.contains(0) else {
            throw VideoError("write metadata", path: path, message: "PNG text key must be 1-79 bytes: '\(key)'")
        }
        // IHDR is always the first chunk: 8 signature + 4 length + 4 type + 13 data + 4 CRC.
        guard isPNG(png), png.count > 33 else { throw VideoError("write metadata", path: path, message: "not a PNG stream") }
        let ascii = value.utf8.allSatisfy { $0 < 0x80 }
        let body =
            ascii
            ? Array("tEXt".utf8) + keyBytes + [0] + Array(value.utf8)
            : Array("iTXt".utf8) + keyBytes + [0, 0, 0, 0, 0] + Array(value.utf8)  // no compression, no language
        var chunk = bigEndian(UInt32(body.count - 4)) + body
        chunk += bigEndian(CRC32.of(body))
        return Array(png[0..<33]) + chunk + Array(png[33...])
    }

    static func read(_ png: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        var i = 8
        while i + 12 <= png.count {
            let length = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            let start = i + 8, end = start + length
            guard length >= 0, end + 4 <= png.count else { break }
            if type == "tEXt", let zero = png[start..<end].firstIndex(of: 0) {
                out[String(decoding: png[start..<zero], as: UTF8.self)] = String(decoding: png[(zero + 1)..<end], as: UTF8.self)
            }
            // iTXt: key \0 compressed? method language \0 translated-key \0 text (uncompressed only).
            if type == "iTXt", let zero = png[start..<end].firstIndex(of: 0), zero + 2 < end, png[zero + 1] == 0,
                let langEnd = png[(zero + 3)..<end].firstIndex(of: 0), let keyEnd = png[(langEnd + 1)..<end].firstIndex(of: 0)
            {
                out[String(decoding: png[start..<zero], as: UTF8.self)] = String(decoding: png[(keyEnd + 1)..<end], as: UTF8.self)
            }
            if type == "IEND" { break }
            i = end + 4
        }
        return out
    }
}

/// JPEG COM segments holding "key=value", inserted after the JFIF/EXIF header segments.
enum JPEGComment {
    static func isJPEG(_ b: [UInt8]) -> Bool { b.count >= 4 && b[0] == 0xFF && b[1] == 0xD8 }

    static func insert(key: String, value: String, into jpeg: [UInt8], path: String) throws -> [UInt8] {
        let text = Array("\(key)=\(value)".utf8)
        guard text.count <= 65533 else {
            throw VideoError("write metadata", path: path, message: "JPEG comment for '\(key)' is longer than 65533 bytes")
        }
        guard isJPEG(jpeg) else { throw VideoError("write metadata", path: path, message: "not a JPEG stream") }
        // Skip APPn segments so JFIF/EXIF stay first, as viewers expect.
        var i = 2
        while i + 4 <= jpeg.count, jpeg[i] == 0xFF, (0xE0...0xEF).contains(jpeg[i + 1]) {
            i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
        }
        let length = UInt16(text.count + 2)
        let segment: [UInt8] = [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + text
        return Array(jpeg[0..<i]) + segment + Array(jpeg[i...])
    }

    static func read(_ jpeg: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        var i = 2
        while i + 4 <= jpeg.count, jpeg[i] == 0xFF {
            let marker = jpeg[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // image data starts: no more header segments
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= jpeg.count else { break }
            if marker == 0xFE {
                var text = String(decoding: jpeg[(i + 4)..<(i + 2 + length)], as: UTF8.self)
                while text.hasSuffix("\0") { text.removeLast() }  // C writers (FFmpeg's own comment) end with NUL
                if let eq = text.firstIndex(of: "="), text[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
                    eq != text.startIndex
                {
                    out[String(text[..<eq])] = String(text[text.index(after: eq)...])
                } else {
                    out["comment"] = text
                }
            }
            i += 2 + length
        }
        return out
    }
}

func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

/// CRC-32 (IEEE, as PNG uses), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func of(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
