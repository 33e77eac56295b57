"""LSTM and GRU unrolled with one input projection and one matmul per step: onnxruntime says every
variant computes what the node did, and what the rewrite does not cover is left to onnx2tf."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch2tf.conversion.rewrites.fixes.lstm_initial_states import add_lstm_initial_states
from torch2tf.conversion.rewrites.speed import recurrent
from torch2tf.conversion.rewrites.speed.recurrent import MAX_STEPS, unroll_recurrent

STEPS, FEATURES, HIDDEN = 5, 3, 4


def _recurrent(kind: str, direction: str, rng, states: bool = False, **attrs) -> onnx.ModelProto:
    gates = {"LSTM": 4, "GRU": 3}[kind]
    dirs = 2 if direction == "bidirectional" else 1
    weights = {"w": (dirs, gates * HIDDEN, FEATURES), "r": (dirs, gates * HIDDEN, HIDDEN),
               "b": (dirs, 2 * gates * HIDDEN)}
    initializers = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in weights.items()]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [STEPS, "N", FEATURES])]
    names = ["x", "w", "r", "b", ""]
    if states:
        names += ["h0"] + (["c0"] if kind == "LSTM" else [])
        inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, [dirs, "N", HIDDEN]) for n in names[5:]]
    outputs = ["y", "y_h"] + (["y_c"] if kind == "LSTM" else [])
    node = helper.make_node(kind, names, outputs, name="rnn", hidden_size=HIDDEN, direction=direction, **attrs)
    shapes = [[STEPS, dirs, "N", HIDDEN]] + [[dirs, "N", HIDDEN]] * (len(outputs) - 1)
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                                                    for n, s in zip(outputs, shapes)], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {k: v for k, v in feeds.items() if k in names})


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "per-direction"])
@pytest.mark.parametrize("kind, direction, attrs, states", [
    ("LSTM", "forward", {}, False),
    ("LSTM", "reverse", {}, True),
    ("LSTM", "bidirectional", {}, False),
    ("GRU", "forward", {"linear_before_reset": 1}, False),  # what torch exports
    ("GRU", "bidirectional", {"linear_before_reset": 1}, True),
    ("GRU", "reverse", {}, False),  # ONNX's default: the reset gate before the matmul
    ("GRU", "bidirectional", {}, False),
])
def test_unrolled_recurrent_nodes_compute_the_same(kind, direction, attrs, states, paired, rng, monkeypatch):
    if not paired:  # a bidirectional node too large to pair: each direction its own sequence
        monkeypatch.setattr(recurrent, "MAX_PAIRED_WEIGHT_BYTES", 0)
    model = _recurrent(kind, direction, rng, states=states, **attrs)
    dirs = 2 if direction == "bidirectional" else 1
    feeds = {"x": rng.standard_normal((STEPS, 3, FEATURES)).astype(np.float32),
             "h0": rng.standard_normal((dirs, 3, HIDDEN)).astype(np.float32),
             "c0": rng.standard_normal((dirs, 3, HIDDEN)).astype(np.float32)}
    before = _run(model, feeds)
    add_lstm_initial_states(model)  # as in REWRITES: the states are inputs of the node by now
    note = unroll_recurrent(model)
    assert note.startswith("recurrent: 1 LSTM/GRU node(s) unrolled")
    onnx.checker.check_model(model)
    assert not any(n.op_type in ("LSTM", "GRU") for n in model.graph.node)
    products = [n.op_type for n in model.graph.node if n.op_type in ("MatMul", "Gemm")]
    per_step = 2 if kind == "GRU" and not attrs else 1  # ONNX's default GRU: the reset gate before R_h's matmul
    # one input projection; a paired bidirectional node's directions share each step's operators
    sequences = dirs if dirs == 2 and not paired else 1
    assert len(products) == sequences * (1 + STEPS * per_step)
    after = _run(model, feeds)
    for b, a in zip(before, after):
        assert b.shape == a.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("attrs, extra", [
    ({"clip": 1.0}, {}),
    ({"layout": 1}, {}),
    ({"activations": ["Tanh", "Tanh", "Tanh"]}, {}),
    ({}, {"sequence_lens": True}),
])
def test_what_the_rewrite_does_not_cover_is_left_alone(attrs, extra, rng):
    model = _recurrent("LSTM", "forward", rng, **attrs)
    if extra.get("sequence_lens"):
        model.graph.node[0].input[4] = "lens"
        model.graph.initializer.append(numpy_helper.from_array(np.full(3, STEPS, np.int32), "lens"))
    assert unroll_recurrent(model) == ""
    assert [n.op_type for n in model.graph.node] == ["LSTM"]


@pytest.mark.parametrize("steps", ["T", MAX_STEPS + 1])
def test_unknown_or_long_step_counts_are_left_alone(steps, rng):
    model = _recurrent("GRU", "forward", rng, linear_before_reset=1)
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    dim.dim_param = steps if isinstance(steps, str) else ""
    if isinstance(steps, int):
        dim.dim_value = steps
    assert unroll_recurrent(model) == ""
