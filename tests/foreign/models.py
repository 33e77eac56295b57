"""Old-style ONNX files of the kind teams bring from other tools: built node by node, no PyTorch.

Each builder returns an ``onnx.ModelProto`` the way Caffe2-, TF- and early-PyTorch-born exports
look: low opsets (9–13), weights as initializers that are also listed as graph inputs (IR 3), names
that TensorFlow must rename (``/``, ``:``, ``.``, a leading digit, a space), Caffe2's ``Sum`` and
``LRN``, softmax heads over NCHW channels with 1×1 spatial outputs, and constant-filled weights.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _weights(rng: np.random.Generator, name: str, shape: tuple, scale: float = 0.3) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def _model(nodes, inputs, outputs, initializers, opset: int, initializers_as_inputs: bool = False) -> onnx.ModelProto:
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs]
    if initializers_as_inputs:  # IR 3 style: every weight is also a graph input
        graph_inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in initializers]
    graph = helper.make_graph(nodes, "legacy", graph_inputs,
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
                              initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=3 if opset < 10 else 7,
                              producer_name="legacy-test")
    onnx.checker.check_model(model, full_check=True)
    return model


def caffe2_squeezenet_style() -> onnx.ModelProto:
    """Opset 9, ``gpu_0/data_0`` in, LRN and Sum, a 1×1 conv head, Softmax over NCHW channels → 1x10x1x1."""
    rng = np.random.default_rng(1)
    weights = [_weights(rng, "conv1_w_0", (8, 3, 3, 3)), _weights(rng, "conv1_b_0", (8,)),
               _weights(rng, "conv10_w_0", (10, 8, 1, 1)), _weights(rng, "conv10_b_0", (10,))]
    nodes = [helper.make_node("Conv", ["gpu_0/data_0", "conv1_w_0", "conv1_b_0"], ["gpu_0/conv1_1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["gpu_0/conv1_1"], ["gpu_0/conv1_2"]),
             helper.make_node("LRN", ["gpu_0/conv1_2"], ["gpu_0/norm1_1"], size=3, alpha=1e-4, beta=0.75, bias=1.0),
             helper.make_node("Sum", ["gpu_0/norm1_1", "gpu_0/conv1_2"], ["gpu_0/fire_1"]),
             helper.make_node("Conv", ["gpu_0/fire_1", "conv10_w_0", "conv10_b_0"], ["gpu_0/conv10_1"]),
             helper.make_node("GlobalAveragePool", ["gpu_0/conv10_1"], ["gpu_0/pool10_1"]),
             helper.make_node("Softmax", ["gpu_0/pool10_1"], ["gpu_0/softmax_1"], axis=1)]
    return _model(nodes, [("gpu_0/data_0", [1, 3, 16, 16])], [("gpu_0/softmax_1", [1, 10, 1, 1])], weights, 9,
                  initializers_as_inputs=True)


def tf_style_channel_softmax() -> onnx.ModelProto:
    """Opset 13, TF-born names with ``:``; Softmax(axis=1) over NCHW channels of a 1x10x1x1 map."""
    rng = np.random.default_rng(2)
    weights = [_weights(rng, "conv/kernel:0", (6, 3, 3, 3)), _weights(rng, "head/kernel:0", (10, 6, 1, 1))]
    nodes = [helper.make_node("Conv", ["input:0", "conv/kernel:0"], ["conv/out:0"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["conv/out:0"], ["act:0"]),
             helper.make_node("Conv", ["act:0", "head/kernel:0"], ["head/out:0"]),
             helper.make_node("GlobalMaxPool", ["head/out:0"], ["pool:0"]),
             helper.make_node("Softmax", ["pool:0"], ["probs:0"], axis=1)]
    return _model(nodes, [("input:0", [1, 3, 12, 12])], [("probs:0", [1, 10, 1, 1])], weights, 13)


def early_pytorch_classifier() -> onnx.ModelProto:
    """Opset 11, numeric and dotted names (``0``, ``input.1``), BatchNormalization, Flatten + Gemm,
    constant-filled weights (as in a freshly initialised export), Softmax on the flat logits."""
    rng = np.random.default_rng(3)
    weights = [numpy_helper.from_array(np.full((4, 2, 3, 3), 0.05, np.float32), "conv.weight"),
               numpy_helper.from_array(np.full((4,), 1.0, np.float32), "bn.weight"),
               numpy_helper.from_array(np.zeros(4, np.float32), "bn.bias"),
               numpy_helper.from_array(np.full((4,), 0.1, np.float32), "bn.running_mean"),
               numpy_helper.from_array(np.full((4,), 2.0, np.float32), "bn.running_var"),
               _weights(rng, "fc.weight", (5, 4 * 4 * 4)), _weights(rng, "fc.bias", (5,))]
    nodes = [helper.make_node("Conv", ["0", "conv.weight"], ["input.1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["input.1", "bn.weight", "bn.bias", "bn.running_mean",
                                                     "bn.running_var"], ["input.2"], epsilon=1e-5),
             helper.make_node("Relu", ["input.2"], ["input.3"]),
             helper.make_node("MaxPool", ["input.3"], ["input.4"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["input.4"], ["input.5"], axis=1),
             helper.make_node("Gemm", ["input.5", "fc.weight", "fc.bias"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["17"], axis=1)]
    return _model(nodes, [("0", [1, 2, 8, 8])], [("17", [1, 5])], weights, 11)


def channel_reduction_two_inputs() -> onnx.ModelProto:
    """Opset 12, two inputs (one named with a space, one with ``/``), rank-4 ReduceMean and ReduceMax
    over channels kept as NCHW (output 1x1x6x6): reductions whose axis must follow the layout."""
    nodes = [helper.make_node("Add", ["left image", "right/image"], ["sum"]),
             helper.make_node("ReduceMean", ["sum"], ["mean_c"], axes=[1], keepdims=1),
             helper.make_node("ReduceMax", ["sum"], ["max_c"], axes=[1], keepdims=1),
             helper.make_node("Sub", ["max_c", "mean_c"], ["spread"])]
    return _model(nodes, [("left image", [1, 4, 6, 6]), ("right/image", [1, 4, 6, 6])], [("spread", [1, 1, 6, 6])],
                  [], 12)


def legacy_softmax_over_map() -> onnx.ModelProto:
    """Opset 10 with a dynamic batch: Softmax(axis=1) over a 4x6x6 feature map, which before opset 13
    normalizes over C·H·W together (a per-pixel class map would use axis=1 at opset 13), then LogSoftmax."""
    rng = np.random.default_rng(4)
    weights = [_weights(rng, "seg_w", (4, 3, 3, 3), 1.0)]
    nodes = [helper.make_node("Conv", ["image", "seg_w"], ["scores"], pads=[1, 1, 1, 1]),
             helper.make_node("Softmax", ["scores"], ["probs"], axis=1),
             helper.make_node("LogSoftmax", ["scores"], ["log_probs"], axis=2)]
    return _model(nodes, [("image", ["N", 3, 6, 6])], [("probs", ["N", 4, 6, 6]), ("log_probs", ["N", 4, 6, 6])],
                  weights, 10)


LEGACY_MODELS = {
    "caffe2_squeezenet_style": caffe2_squeezenet_style,
    "tf_style_channel_softmax": tf_style_channel_softmax,
    "early_pytorch_classifier": early_pytorch_classifier,
    "channel_reduction_two_inputs": channel_reduction_two_inputs,
    "legacy_softmax_over_map": legacy_softmax_over_map,
}
