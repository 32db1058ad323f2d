#!/usr/bin/env python3
"""Real tf2onnx exports of Keras applications (random weights): what a Keras user hands Reverie.
  pip install tensorflow-cpu tf2onnx;  python3 Benchmarks/keras_models.py DIR [inception3 vgg16 resnet50]
Writes DIR/NAME.onnx with a free (None, None, None, 3) NHWC input. Checked 2026-12-07 with
tensorflow-cpu 2.21 (Keras 3.15) and tf2onnx 1.17: `render layers --model` lists mixed0..10,
block1_conv1..block5_pool and layer1..layer4 with the classic layers marked and detects the
inception / caffe preprocessing, and `render image` dreams each. VGG16 without its dense head
(include_top with a free input made tf2onnx run out of memory)."""
import os, sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
import tf2onnx

out = sys.argv[1]
names = sys.argv[2:] or ["inception3", "vgg16", "resnet50"]
apps = {"inception3": tf.keras.applications.InceptionV3, "vgg16": tf.keras.applications.VGG16,
        "resnet50": tf.keras.applications.ResNet50}
os.makedirs(out, exist_ok=True)
for name in names:
    tf.random.set_seed(1)
    model = apps[name](weights=None, include_top=name != "vgg16")
    spec = (tf.TensorSpec((None, None, None, 3), tf.float32, name="input_1"),)
    fn = tf.function(lambda x: model(x), input_signature=spec)
    tf2onnx.convert.from_function(fn, input_signature=spec, opset=13, output_path=os.path.join(out, f"{name}.onnx"))
    print("wrote", os.path.join(out, f"{name}.onnx"))
