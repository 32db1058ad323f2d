import Dream
import Foundation
import XCTest

/// The schedule grammar (Deforum's `FRAME:(EXPR), ...`), its interpolation, and keyframed parameters.
final class ScheduleTests: XCTestCase {
    func value(_ text: String, _ frame: Double, fps: Double = 24, smooth: Bool = false) throws -> Double {
        try Schedule(parsing: text).value(atFrame: frame, fps: fps, smooth: smooth)
    }

    func testDeforumExampleNumbersInterpolateAndExpressionsRunPerFrame() throws {
        let s = "0:(1.0), 60:(1.04), 120:(1.0+0.02*sin(2*3.14*t/60))"
        XCTAssertEqual(try value(s, 0), 1.0, accuracy: 1e-12)
        XCTAssertEqual(try value(s, 30), 1.02, accuracy: 1e-12)  // halfway between two numbers
        XCTAssertEqual(try value(s, 60), 1.04, accuracy: 1e-12)
        // Between a number and an expression: towards the expression's value at its key.
        let at120 = 1.0 + 0.02 * sin(2 * 3.14 * 120 / 60)
        XCTAssertEqual(try value(s, 90), (1.04 + at120) / 2, accuracy: 1e-12)
        // From the expression's key on it runs at every frame.
        for t in [120.0, 135, 200] { XCTAssertEqual(try value(s, t), 1.0 + 0.02 * sin(2 * 3.14 * t / 60), accuracy: 1e-12) }
        XCTAssertEqual(try value(s, -5), 1.0)  // before the first key: the first key's value
    }

    func testSecondsKeysBareExpressionsAndOperators() throws {
        XCTAssertEqual(try value("2.5s:(3), 5s:(4)", 90, fps: 24), 3.5, accuracy: 1e-12)  // 90 frames = 3.75 s
        XCTAssertEqual(try value("2.5s:(3), 5s:(4)", 90, fps: 12), 4)  // 7.5 s: after the last key
        XCTAssertEqual(try value("1.0 + 0.5*t", 4), 3)
        XCTAssertEqual(try value("0:(s*fps)", 48, fps: 24), 48, accuracy: 1e-12)
        XCTAssertEqual(try value("-2^2", 0), -4)
        XCTAssertEqual(try value("2**3**2", 0), 512)  // right-associative
        XCTAssertEqual(try value("7 % 4 - 2*-3", 0), 9)
        XCTAssertEqual(try value("0:(max(1, t)), 10:(clamp(t, 0, 12))", 30), 12)
        XCTAssertEqual(try value("pi", 0), Double.pi)
        XCTAssertNil(Schedule.number("0:(1)")); XCTAssertEqual(Schedule.number(" 1.25 "), 1.25)
    }

    func testSmoothCurvePassesThroughTheKeysWithoutKinks() throws {
        let s = "0:(0), 10:(1), 20:(0), 30:(1)"
        for (f, v) in [(0.0, 0.0), (10, 1), (20, 0), (30, 1)] { XCTAssertEqual(try value(s, f, smooth: true), v, accuracy: 1e-12) }
        // The slope just before and just after an inner key agree (linear: +0.1 then -0.1).
        let h = 1e-4
        let before = (try value(s, 10, smooth: true) - value(s, 10 - h, smooth: true)) / h
        let after = (try value(s, 10 + h, smooth: true) - value(s, 10, smooth: true)) / h
        XCTAssertEqual(before, after, accuracy: 1e-3)
        let linearBefore = (try value(s, 10) - value(s, 10 - h)) / h, linearAfter = (try value(s, 10 + h) - value(s, 10)) / h
        XCTAssertEqual(linearBefore - linearAfter, 0.2, accuracy: 1e-6)
    }

    func testBadSchedulesNameThePosition() {
        let cases: [(String, String)] = [
            ("0:(1), 10:(2", "at character 13: expected an operator or \")\""),
            ("0:(1), 10:(foo)", "at character 12: unknown name \"foo\""),
            ("0:(1) 10:(2)", "at character 7: expected \",\" before the next key"),
            ("0:(sin(1,2))", "at character 4: sin takes 1 argument, got 2"),
            ("0:(1+)", "at character 6: expected a number, a name or \"(\""),
            ("1.5:(2)", "at character 1: a frame key must be a whole number"),
            ("0:(1), x", "at character 8: expected a key"),
            ("0:(nosuch(1))", "at character 4: unknown function \"nosuch\""),
            ("10:(1), 5:(2)", "keys must increase"),
            ("", "at character 1")
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try Schedule(parsing: text), text) { error in
                let d = String(describing: error)
                XCTAssertTrue(d.hasPrefix("schedule '\(text)': "), d)
                XCTAssertTrue(d.contains(message), "\(text): \(d)")
                XCTAssertFalse(d.contains("\n"), "one line: \(d)")
            }
        }
    }

    func testScheduledParametersChangePerFrameAndLayersCrossFade() throws {
        var p = DreamParameters.defaults
        p.layers = ["block10"]
        p.schedules = ["zoom": "0:(1.1), 10:(1.3)", "zoomSteps": "0:(2), 10:(6)", "blend": "0.5 + 0.01*t"]
        p.weights = ["block10": "0:(1), 10:(0)", "block12": "0:(0), 10:(1)"]
        try p.validate()
        let f0 = try p.at(frame: 0, fps: 24), f5 = try p.at(frame: 5, fps: 24), f10 = try p.at(frame: 10, fps: 24)
        XCTAssertEqual(f0.zoom, 1.1, accuracy: 1e-6); XCTAssertEqual(f5.zoom, 1.2, accuracy: 1e-6); XCTAssertEqual(f10.zoom, 1.3, accuracy: 1e-6)
        XCTAssertEqual([f0.zoomSteps, f5.zoomSteps, f10.zoomSteps], [2, 4, 6])
        XCTAssertEqual(f5.blend, 0.55, accuracy: 1e-6)
        XCTAssertEqual(f0.layers, ["block10"])  // block12 at weight 0 is left out
        XCTAssertEqual(f5.layers, ["block10:0.5", "block12:0.5"])
        XCTAssertEqual(f10.layers, ["block12"])
        // A value outside its field's range names the frame.
        p.schedules = ["blend": "0:(0.5), 10:(1.5)"]
        XCTAssertThrowsError(try p.at(frame: 8, fps: 24)) { XCTAssertTrue("\($0)".contains("at frame 8: blend"), "\($0)") }
        // Unscheduled parameters are returned as they are.
        XCTAssertEqual(try DreamParameters.defaults.at(frame: 7, fps: 24), DreamParameters.defaults)
        p.schedules = ["tile": "0:(256)"]
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("'tile' cannot be scheduled"), "\($0)") }
    }

    func testPresetFieldsTakeSchedulesAndPlainValuesReplaceThem() throws {
        let json =
            #"{"zoom": "0:(1.1), 48:(1.3)", "steps": "12", "octaves": "-2..0", "zoomOctaves": "0:(1), 24:(2)", "weights": {"block12": "0:(0), 24:(1)"}, "curve": "smooth"}"#
        let o = try ParameterOverrides.decodePreset(Data(json.utf8), file: "p.json")
        XCTAssertEqual(o.schedules, ["zoom": "0:(1.1), 48:(1.3)", "zoomOctaves": "0:(1), 24:(2)"])
        XCTAssertEqual(o.steps, 12)
        XCTAssertEqual(o.octaves, OctaveRange(lowest: -2, highest: 0))
        let p = DreamParameters.defaults.applying(o)
        XCTAssertEqual(p.curve, .smooth)
        XCTAssertEqual(try p.at(frame: 24, fps: 24).zoomOctaves, OctaveRange(lowest: -1, highest: 0))
        // --zoom 1.2 on the command line replaces the preset's zoom schedule.
        var cli = ParameterOverrides()
        try cli.set("zoom", "1.2")
        let q = p.applying(cli)
        XCTAssertEqual(q.zoom, 1.2); XCTAssertNil(q.schedules?["zoom"]); XCTAssertNotNil(q.schedules?["zoomOctaves"])
        XCTAssertThrowsError(try ParameterOverrides.decodePreset(Data(#"{"zoom": "0:(1.1"}"#.utf8), file: "bad.json")) {
            XCTAssertTrue("\($0)".hasPrefix("bad.json: zoom: schedule '0:(1.1': at character 7"), "\($0)")
        }
    }

    /// Errors are typed: the case says what kind of input is wrong and carries it.
    func testErrorsCarryWhatIsWrong() {
        XCTAssertThrowsError(try Schedule(parsing: "0:(1")) { error in
            guard case let .schedule(text, problem)? = error as? DreamError else { return XCTFail("\(error)") }
            XCTAssertEqual(text, "0:(1"); XCTAssertTrue(problem.hasPrefix("at character 5"), problem)
        }
        XCTAssertThrowsError(try LayerTerm(parsing: "block10:x")) { error in
            XCTAssertEqual(error as? DreamError, .layerTerm(text: "block10:x", problem: "the weight after ':' is not a number"))
        }
        var p = DreamParameters.defaults
        p.blend = 2
        XCTAssertThrowsError(try p.validate()) {
            XCTAssertEqual($0 as? DreamError, .parameter(field: "blend", problem: "must be in [0, 1], got 2.0"))
        }
        p.blend = 0.5
        p.schedules = ["blend": "0:(0.5), 10:(3)"]
        XCTAssertThrowsError(try p.at(frame: 10, fps: 24)) { error in
            guard case let .within(context, inner)? = error as? DreamError, case .parameter("blend", _) = inner else { return XCTFail("\(error)") }
            XCTAssertEqual(context, "at frame 10")
        }
    }

    /// A layer cycle: each layer in turn at full weight, cross-fading into the next and from the
    /// last back to the first.
    func testLayerCycleTakesTurnsAndWrapsAround() throws {
        var o = ParameterOverrides()
        o.layerCycle = LayerCycle(layers: ["block8", "block10", "block12"], frames: 10)
        let p = DreamParameters.defaults.applying(o)
        try p.validate()
        XCTAssertEqual(try p.at(frame: 0, fps: 24).layers, ["block8"])
        XCTAssertEqual(try p.at(frame: 5, fps: 24).layers, ["block8:0.5", "block10:0.5"])
        XCTAssertEqual(try p.at(frame: 20, fps: 24).layers, ["block12"])
        XCTAssertEqual(try p.at(frame: 25, fps: 24).layers, ["block8:0.5", "block12:0.5"])  // the last fades into the first
        XCTAssertEqual(try p.at(frame: 30, fps: 24).layers, ["block8"])
        o.layerCycle = LayerCycle(layers: ["block8"], frames: 10)
        XCTAssertThrowsError(try DreamParameters.validate(o))
        let json = #"{"layerCycle": {"layers": ["block8", "block10"], "frames": 12}}"#
        let decoded = try ParameterOverrides.decodePreset(Data(json.utf8), file: "cycle.json")
        XCTAssertEqual(decoded.layerCycle, LayerCycle(layers: ["block8", "block10"], frames: 12))
    }
}
