import Dream
import Foundation
import XCTest

/// The JSON files in presets/ are readable mirrors of the presets compiled into the executable.
final class BuiltinPresetTests: XCTestCase {
    func testPresetFilesMirrorTheBuiltinPresets() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("presets")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files.map { String($0.dropLast(5)) }, BuiltinPresets.all.map(\.name).sorted())
        for (name, json) in BuiltinPresets.all {
            let text = try String(contentsOf: folder.appendingPathComponent(name + ".json"), encoding: .utf8)
            XCTAssertEqual(text, json + "\n", "presets/\(name).json differs from the built-in preset")
            let o = try ParameterOverrides.decodePreset(Data(json.utf8), file: name)
            XCTAssertNotNil(o.description, name)
        }
    }
}
