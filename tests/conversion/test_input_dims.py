"""--input sizes reach an ONNX file's own inputs: a file declaring [batch, 3, h, w] is converted at the given size."""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from torch2tf.conversion.export import normalize_onnx
from torch2tf.conversion.input_dims import set_input_dims


def _dynamic_image_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inner = helper.make_tensor_value_info("r", TensorProto.FLOAT, ["batch", 3, "h", "w"])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])], "g",
                              [x], [y], value_info=[inner])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _dims(model):
    return [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]


def test_given_sizes_are_written_into_the_graph_inputs_and_dynamic_ones_kept(tmp_path):
    source = tmp_path / "in.onnx"
    onnx.save(_dynamic_image_model(), str(source))
    fixed = normalize_onnx(source, tmp_path / "model.onnx", {"x": [None, 3, 48, 192]})
    assert fixed == ["x: batchx3xhxw → batchx3x48x192"]
    written = onnx.load(str(tmp_path / "model.onnx"))
    assert _dims(written) == ["batch", 3, 48, 192]
    assert not written.graph.value_info  # inferred for h and w: inferred again from the given sizes
    assert normalize_onnx(source, tmp_path / "same.onnx", {"x": [None, 3, None, None]}) == []
    assert _dims(onnx.load(str(tmp_path / "same.onnx"))) == ["batch", 3, "h", "w"]


def test_a_shape_of_another_rank_is_left_to_the_input_checks():
    model = _dynamic_image_model()
    assert set_input_dims(model, {"x": [1, 3]}) == [] and _dims(model) == ["batch", 3, "h", "w"]
