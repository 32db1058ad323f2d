/// The built-in presets, compiled into the executable so an installed `render` has them wherever
/// it lives. `presets/NAME.json` in the checkout are readable mirrors of these texts (a test checks
/// they match byte for byte): change a preset here, then copy its text there.
public enum BuiltinPresets {
    /// Name and JSON text of each built-in preset, the same texts as presets/NAME.json.
    public static let all: [(name: String, json: String)] = [
        (
            "classic",
            #"""
            {
              "description": "DeepDream's classic look: dog faces, extra eyes and noses, fur (block10).",
              "layers": ["block10"],
              "objective": "l2",
              "octaves": "-3..0",
              "steps": 25,
              "stepSize": 0.01
            }
            """#
        ),
        (
            "deep",
            #"""
            {
              "description": "Strong and busy: faces and ornaments everywhere, from block10 and block12 over five octaves.",
              "layers": ["block10", "block12"],
              "objective": "l2",
              "octaves": "-4..0",
              "steps": 40,
              "stepSize": 0.01
            }
            """#
        ),
        (
            "googlenet",
            #"""
            {
              "description": "The original DeepDream notebook on GoogLeNet: inception_4c, 4 octaves of 1.4, 10 steps of 1.5. Use with a GoogLeNet (--model); the step is in the Caffe/ONNX-zoo model's 0-255 units (a torchvision export, inputs -1...1: --step-size 0.012).",
              "layers": ["inception_4c"],
              "objective": "l2",
              "octaves": "-3..0",
              "octaveScale": 1.4,
              "steps": 10,
              "stepSize": 1.5
            }
            """#
        ),
        (
            "inception3",
            #"""
            {
              "description": "The TensorFlow DeepDream tutorial on InceptionV3: mixed3 + mixed5, mean objective, octaves -2..2 of 1.3, 100 steps of 0.01 (inputs -1...1). Use with an InceptionV3 (--model).",
              "layers": ["mixed3", "mixed5"],
              "objective": "mean",
              "octaves": "-2..2",
              "octaveScale": 1.3,
              "steps": 100,
              "stepSize": 0.01
            }
            """#
        ),
        (
            "subtle",
            #"""
            {
              "description": "A light touch: ornament textures and faint faces from block12; the photo stays readable.",
              "layers": ["block12"],
              "objective": "l2",
              "octaves": "-3..0",
              "steps": 8,
              "stepSize": 0.01
            }
            """#
        ),
        (
            "swirl",
            #"""
            {
              "description": "Psychedelic spirals and eye rings: block6 with the mean objective.",
              "layers": ["block6"],
              "objective": "mean",
              "octaves": "-3..0",
              "steps": 25,
              "stepSize": 0.01
            }
            """#
        ),
        (
            "video",
            #"""
            {
              "description": "For videos: the classic look on the first frame, then a short dream per frame on top of the carried one.",
              "layers": ["block10"],
              "objective": "l2",
              "octaves": "-3..0",
              "steps": 15,
              "stepSize": 0.01,
              "frameOctaves": "-1..0",
              "frameSteps": 5,
              "blend": 0.85,
              "flow": true
            }
            """#
        ),
        (
            "zoom",
            #"""
            {
              "description": "For infinite zoom loops: a few steps per frame, so fresh detail keeps growing without saturating.",
              "layers": ["block10"],
              "objective": "l2",
              "octaves": "-2..0",
              "steps": 15,
              "stepSize": 0.01,
              "zoom": 1.15,
              "rotate": 0,
              "zoomSteps": 4,
              "zoomOctaves": "0..0"
            }
            """#
        )
    ]
}
