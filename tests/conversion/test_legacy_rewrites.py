"""The name and legacy-softmax rewrites on small graphs: onnxruntime says the rewritten graph computes the same."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from tests.foreign.models import caffe2_squeezenet_style, legacy_softmax_over_map
from torch2tf.conversion.rewrites.fixes.legacy_softmax import spell_out_legacy_softmax
from torch2tf.conversion.rewrites.fixes.names import rename_for_tensorflow
from torch2tf.conversion.signature import signature_keys


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def test_signature_keys_follow_tensorflow_and_stay_unique():
    assert signature_keys(["gpu_0/data_0", "input:0", "0", "input.1", "left image", "a/b", "a:b", "_x"]) == {
        "gpu_0/data_0": "gpu_0_data_0", "input:0": "input_0", "0": "arg_0", "input.1": "input_1",
        "left image": "left_image", "a/b": "a_b", "a:b": "a_b_2", "_x": "arg__x"}


def test_names_rewrite_renames_ends_and_keeps_the_computation(rng):
    model = caffe2_squeezenet_style()
    feeds = {"gpu_0/data_0": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)}
    before = _run(model, feeds)
    note = rename_for_tensorflow(model)
    assert "gpu_0/data_0 → gpu_0_data_0" in note
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input][0] == "gpu_0_data_0"
    assert [o.name for o in model.graph.output] == ["gpu_0_softmax_1"]
    np.testing.assert_array_equal(_run(model, {"gpu_0_data_0": feeds["gpu_0/data_0"]})[0], before[0])
    assert rename_for_tensorflow(model) == ""  # clean names: nothing to do


def test_legacy_softmax_spelled_out_only_where_meanings_differ(rng):
    model = legacy_softmax_over_map()
    feeds = {"image": rng.standard_normal((3, 3, 6, 6)).astype(np.float32)}
    before = _run(model, feeds)
    note = spell_out_legacy_softmax(model)
    assert note.startswith("legacy softmax: 2 opset-10")
    assert not [n for n in model.graph.node if n.op_type in ("Softmax", "LogSoftmax") and n.attribute[0].i != 1]
    onnx.checker.check_model(model)
    for got, want in zip(_run(model, feeds), before):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert spell_out_legacy_softmax(caffe2_squeezenet_style()) == ""  # softmax over 1x1 maps: same either way


def _pool_model(kernel: int, ceil_mode: int, spatial: int, pads=(0, 0, 0, 0)) -> onnx.ModelProto:
    from onnx import TensorProto, helper

    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[kernel, kernel], strides=[kernel, kernel],
                            ceil_mode=ceil_mode, count_include_pad=1,
                            pads=list(pads))
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, spatial, spatial])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_whole_input_average_pool_becomes_global(rng):
    from torch2tf.conversion.rewrites.speed.global_pool import globalize_whole_input_pools

    feeds = {"x": rng.standard_normal((2, 6, 3, 3)).astype(np.float32)}
    model = _pool_model(kernel=320, ceil_mode=1, spatial=3)  # EfficientNet's pooler: a kernel far past the map
    before = _run(model, feeds)
    assert "1 AveragePool" in globalize_whole_input_pools(model)
    assert [n.op_type for n in model.graph.node] == ["GlobalAveragePool"]
    np.testing.assert_allclose(_run(model, feeds)[0], before[0], rtol=0, atol=1e-6)
    for kept in (_pool_model(kernel=2, ceil_mode=1, spatial=3), _pool_model(kernel=3, ceil_mode=0, spatial=3,
                                                                              pads=(1, 1, 1, 1))):
        assert globalize_whole_input_pools(kept) == ""  # several windows, or padding counted: not the same op
