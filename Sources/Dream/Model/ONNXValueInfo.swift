/// The one writer of ONNX `ValueInfoProto`s for the models Reverie converts (the default model,
/// VGG16): a float tensor's name and, optionally, its shape.

/// One dimension of a written shape: a fixed size, a symbolic name, or left unknown.
enum ONNXDim { case fixed(Int), named(String), unknown }

/// A float tensor value called `name` with shape `dims` (nil: no shape recorded).
func onnxValueInfo(_ name: String, dims: [ONNXDim]?) -> Onnx_ValueInfoProto {
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = ONNXType.float
    if let dims {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let n): dim.dimValue = Int64(n)
            case .named(let s): dim.dimParam = s
            case .unknown: break
            }
            return dim
        }
        tensorType.shape = shape
    }
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type.tensorType = tensorType
    return info
}
