"""A small convert output written directly, without a conversion: what the serving tests package and serve.

model.onnx (Conv → Relu → mean → Gemm, dynamic batch) and saved_model/ compute the same function, the
SavedModel with TensorFlow ops under ``serving_default`` (input ``image`` NCHW, output ``output``), and
manifest.json records what ``package``, ``serve`` and ``smoke`` read. Seconds to build, where a real
conversion takes most of a minute: the serving tests leave the slow set.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from torch2tf.records import Manifest
from torch2tf.specs import SignaturePlan, TensorBinding, TensorSpec

INPUT = TensorSpec("image", (None, 3, 8, 8))
OUTPUT = TensorSpec("output", (None, 2))


def write_served_model(directory: Path, seed: int = 0) -> Path:
    from torch2tf.artifacts import write_manifest

    rng = np.random.default_rng(seed)
    conv = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.5  # OIHW
    conv_bias = rng.standard_normal(4).astype(np.float32) * 0.1
    fc = rng.standard_normal((2, 4)).astype(np.float32)
    fc_bias = rng.standard_normal(2).astype(np.float32) * 0.1
    directory.mkdir(parents=True)
    _write_onnx(directory / "model.onnx", conv, conv_bias, fc, fc_bias)
    _write_saved_model(directory / "saved_model", conv, conv_bias, fc, fc_bias)
    plan = SignaturePlan([TensorBinding("image", "image", None, "float32", "float32", "image")],
                         [TensorBinding("output", "output", None, "float32", "float32")], None, "nchw")
    write_manifest(directory, Manifest(model="served_model (written without a conversion)",
                                       inputs=(INPUT.to_json(),), outputs=(OUTPUT.to_json(),), seed=seed,
                                       vocab_sizes={}, signature=plan.to_json()))
    return directory


def _write_onnx(path: Path, conv, conv_bias, fc, fc_bias) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = [numpy_helper.from_array(a, n) for a, n in ((conv, "w"), (conv_bias, "b"), (fc, "fw"), (fc_bias, "fb"))]
    nodes = [helper.make_node("Conv", ["image", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["output"], transB=1)]
    graph = helper.make_graph(nodes, "served", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 2])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))


def _write_saved_model(path: Path, conv, conv_bias, fc, fc_bias) -> None:
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    kernel = tf.constant(conv.transpose(2, 3, 1, 0))  # HWIO

    class Served(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3, 8, 8], tf.float32, name="image")])
        def serve(self, image):
            x = tf.nn.conv2d(tf.transpose(image, [0, 2, 3, 1]), kernel, 1, "SAME") + conv_bias
            x = tf.reduce_mean(tf.nn.relu(x), axis=[1, 2])
            return {"output": tf.matmul(x, fc, transpose_b=True) + fc_bias}

    module = Served()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
