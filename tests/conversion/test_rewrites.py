"""Each rewrite on a tiny ONNX graph: it changes the structure and onnxruntime's answer does not."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch2tf.conversion.rewrites.fixes.gelu import fuse_gelu
from torch2tf.conversion.rewrites.fixes.lstm_initial_states import add_lstm_initial_states


def _run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _lstm_model(rng, batch: int | str) -> onnx.ModelProto:
    hidden, features, seq = 4, 3, 5
    w = numpy_helper.from_array(rng.standard_normal((2, 4 * hidden, features)).astype(np.float32), "W")
    r = numpy_helper.from_array(rng.standard_normal((2, 4 * hidden, hidden)).astype(np.float32), "R")
    node = helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="lstm", hidden_size=hidden,
                            direction="bidirectional")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, batch, features])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [seq, 2, batch, hidden])], [w, r])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_lstm_states_static_batch_become_constants(rng):
    model = _lstm_model(rng, 2)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    before = _run(model, {"X": x})
    note = add_lstm_initial_states(model)
    assert "1 recurrent node" in note
    lstm = next(n for n in model.graph.node if n.op_type == "LSTM")
    assert lstm.input[5] and lstm.input[6]
    assert lstm.input[5] in {i.name for i in model.graph.initializer}
    onnx.checker.check_model(model)
    np.testing.assert_allclose(_run(model, {"X": x})[0], before[0], rtol=0, atol=0)


def test_lstm_states_dynamic_batch_follow_the_input(rng):
    original = _lstm_model(rng, "batch")
    model = onnx.ModelProto()
    model.CopyFrom(original)
    add_lstm_initial_states(model)
    assert "ConstantOfShape" in [n.op_type for n in model.graph.node]
    onnx.checker.check_model(model)
    for batch in (1, 3):
        x = rng.standard_normal((5, batch, 3)).astype(np.float32)
        np.testing.assert_allclose(_run(model, {"X": x})[0], _run(original, {"X": x})[0], rtol=0, atol=0)


def test_lstm_with_states_is_left_alone(rng):
    model = _lstm_model(rng, 2)
    add_lstm_initial_states(model)
    assert add_lstm_initial_states(model) == ""


def _gelu_model(order: str) -> onnx.ModelProto:
    """Exact GELU as the exporters write it: x/√2 → Erf → +1, then 0.5·(…)→x·(…) (dynamo) or x·(…)→·0.5."""
    consts = [numpy_helper.from_array(np.array(v, np.float32), n)
              for n, v in (("sqrt2", 1.4142135), ("one", 1.0), ("half", 0.5))]
    first, second = (["half", "a"], ["x", "m"]) if order == "dynamo" else (["x", "a"], ["m", "half"])
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", first, ["m"]),
             helper.make_node("Mul", second, ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])], consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("order", ["dynamo", "torchscript"])
def test_gelu_subgraphs_become_one_gelu(rng, order):
    model = _gelu_model(order)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    before = _run(model, {"x": x})[0]
    assert "1 exact GELU" in fuse_gelu(model)
    assert [(n.op_type, list(n.input), list(n.output)) for n in model.graph.node] == [("Gelu", ["x"], ["y"])]
    assert next(o.version for o in model.opset_import if o.domain == "") == 20  # Gelu is an opset-20 op
    onnx.checker.check_model(model)
    np.testing.assert_allclose(_run(model, {"x": x})[0], before, rtol=1e-6, atol=1e-7)


def test_gelu_leaves_other_erf_uses():
    model = _gelu_model("dynamo")
    model.graph.node[1].input[0] = "x"  # Erf(x): not a GELU
    assert fuse_gelu(model) == ""
