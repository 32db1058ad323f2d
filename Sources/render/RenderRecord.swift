import Dream
import Foundation

/// How an output was made, written into its metadata under the key `reverie`.
struct RenderRecord: Codable {
    var version = Render.configuration.version
    var command: String
    var preset: String
    var parameters: DreamParameters
    var model: String
    var source: String
    /// SHA-256 of the guide image's file (the parameters hold its path); nil without a guide.
    var guideSHA256: String? = nil

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
