"""The rewrites for graphs with a dynamic axis beyond the batch compute what the graph computed, at every size."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from torch2tf.conversion.rewrites import run_rewrites
from torch2tf.conversion.rewrites.fixes.dynamic_axes import constant_reshape_targets, gather_dynamic_slices
from torch2tf.conversion.rewrites.fixes.patch_upsampling import patch_convolutions
from torch2tf.conversion.rewrites.fixes.trimmed_padding import fold_trims_into_padding
from torch2tf.conversion.rewrites.registry import rewrites_for


def _run(model, feeds):
    return ort.InferenceSession(model.SerializeToString()).run(None, feeds)[0]


def _model(nodes, inputs, output, initializers):
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(v, k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _heads_and_positions():
    """x [batch, seq, 8] → heads [batch, seq, 2, 4] + position table sliced to seq: the exporters' spelling."""
    table = np.arange(64 * 8, dtype=np.float32).reshape(64, 8) / 100
    nodes = [helper.make_node("Shape", ["x"], ["b"], start=0, end=1),
             helper.make_node("Shape", ["x"], ["s"], start=1, end=2),
             helper.make_node("Concat", ["b", "s", "two", "four"], ["target"], axis=0),
             helper.make_node("Slice", ["table", "zero", "s", "zero"], ["positions"]),
             helper.make_node("Add", ["x", "positions"], ["placed"]),
             helper.make_node("Reshape", ["placed", "target"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 8])]
    return _model(nodes, inputs, "y", {"table": table, "zero": np.array([0], np.int64),
                                       "two": np.array([2], np.int64), "four": np.array([4], np.int64)})


def test_reshape_targets_and_slices_to_a_dynamic_length_are_rewritten_exactly():
    model = _heads_and_positions()
    original = onnx.ModelProto.FromString(model.SerializeToString())
    assert "made constant" in constant_reshape_targets(model)
    assert "made gathers" in gather_dynamic_slices(model)
    assert {n.op_type for n in model.graph.node} >= {"Gather", "Range"} and "Slice" not in {
        n.op_type for n in model.graph.node}
    reshape = next(n for n in model.graph.node if n.op_type == "Reshape")
    target = next(i for i in model.graph.initializer if i.name == reshape.input[1])
    assert numpy_helper.to_array(target).tolist() == [0, 0, 2, 4]  # copied dims, the heads as numbers
    for batch, seq in ((1, 5), (3, 17)):
        x = np.random.default_rng(seq).standard_normal((batch, seq, 8)).astype(np.float32)
        np.testing.assert_array_equal(_run(model, {"x": x}), _run(original, {"x": x}))


def test_graphs_with_only_a_dynamic_batch_are_left_alone():
    model = _heads_and_positions()
    model.graph.input[0].type.tensor_type.shape.dim[1].Clear()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 6
    assert constant_reshape_targets(model) == "" and gather_dynamic_slices(model) == ""


def _up_convolution(kernel: int, stride: int):
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[kernel, kernel],
                              strides=[stride, stride])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])]
    return _model(nodes, inputs, "y", {"w": rng.standard_normal((3, 5, kernel, kernel)).astype(np.float32),
                                       "b": rng.standard_normal(5).astype(np.float32)})


def test_up_convolutions_become_a_1x1_convolution_and_depth_to_space():
    model = _up_convolution(2, 2)
    original = onnx.ModelProto.FromString(model.SerializeToString())
    assert "DepthToSpace" in patch_convolutions(model)
    assert [n.op_type for n in model.graph.node] == ["Conv", "DepthToSpace"]
    for h, w in ((4, 6), (9, 3)):
        x = np.random.default_rng(h).standard_normal((2, 3, h, w)).astype(np.float32)
        np.testing.assert_allclose(_run(model, {"x": x}), _run(original, {"x": x}), atol=1e-5)
    overlapping = _up_convolution(3, 2)  # kernel ≠ stride: patches overlap, not this rewrite's case
    assert patch_convolutions(overlapping) == ""


def test_the_registry_runs_them_in_their_declared_order():
    names = [r.name for r in rewrites_for()]
    assert names.index("symbolic_reshape") < names.index("dynamic_slice")
    model = _heads_and_positions()
    notes = run_rewrites(model, tuple(r for r in rewrites_for() if r.name in ("symbolic_reshape", "dynamic_slice")))
    assert [n.rewrite for n in notes] == ["symbolic_reshape", "dynamic_slice"]


def test_a_trimmed_same_convolution_is_padded_less_instead():
    """wav2vec2's positional convolution: kernel 16, padding 8 on both sides, then x[..., :-1]."""
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Conv", ["x", "w"], ["wide"], kernel_shape=[16], pads=[8, 8], group=2),
             helper.make_node("Slice", ["wide", "zero", "minus_one", "two"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, "t"])]
    model = _model(nodes, inputs, "y", {"w": rng.standard_normal((4, 2, 16)).astype(np.float32),
                                        "zero": np.array([0], np.int64), "minus_one": np.array([-1], np.int64),
                                        "two": np.array([2], np.int64)})
    original = onnx.ModelProto.FromString(model.SerializeToString())
    assert "padded less" in fold_trims_into_padding(model)
    conv = model.graph.node[0]
    assert [n.op_type for n in model.graph.node] == ["Conv"] and conv.output[0] == "y"
    assert next(a.ints for a in conv.attribute if a.name == "pads") == [8, 7]
    for t in (20, 37):
        x = rng.standard_normal((2, 4, t)).astype(np.float32)
        np.testing.assert_allclose(_run(model, {"x": x}), _run(original, {"x": x}), atol=1e-5)
