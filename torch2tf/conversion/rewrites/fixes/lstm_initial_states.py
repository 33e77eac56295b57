"""Give recurrent nodes (LSTM, GRU, RNN) explicit zero initial states.

onnx2tf 1.28.8 crashes on a bidirectional LSTM without initial_h/initial_c: ``ops/LSTM.py``
indexes ``initial_h[1]`` when it is None (``ops/GRU.py`` and ``ops/RNN.py`` likewise). onnxsim removes all-zero states the exporters write,
so this runs after onnxsim. Zero states are what ONNX assumes when they are absent, so adding
them computes the same thing. When X's batch size is static the states are constants (Keras'
RNN needs a known state shape); otherwise they are built from X's shape at run time.
"""
from __future__ import annotations

from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

# Input positions of the initial states: LSTM has initial_h and initial_c, GRU and RNN initial_h.
STATE_INPUTS = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def add_lstm_initial_states(model: Any, index: GraphIndex | None = None) -> str:
    import numpy as np
    from onnx import numpy_helper, shape_inference

    graph = model.graph
    shapes = _known_shapes(shape_inference.infer_shapes(model))
    changed = 0
    new_nodes = []
    for node in graph.node:
        if node.op_type in STATE_INPUTS and not _has_states(node):
            attrs = {a.name: a for a in node.attribute}
            hidden = attrs["hidden_size"].i
            direction = attrs["direction"].s.decode() if "direction" in attrs else "forward"
            directions = 2 if direction == "bidirectional" else 1
            batch_first = "layout" in attrs and attrs["layout"].i == 1
            prefix = f"{node.name or 'lstm'}_t2tf_zero_state"
            x_shape = shapes.get(node.input[0])
            batch = x_shape[0 if batch_first else 1] if x_shape else None
            if batch:
                dims = [batch, directions, hidden] if batch_first else [directions, batch, hidden]
                graph.initializer.append(numpy_helper.from_array(np.zeros(dims, np.float32), prefix))
                state = prefix
            else:
                state, nodes = _dynamic_zero_state(graph, node.input[0], prefix, directions, hidden, batch_first)
                new_nodes += nodes
            slots = STATE_INPUTS[node.op_type]
            inputs = list(node.input) + [""] * (max(slots) + 1 - len(node.input))
            if not inputs[3]:  # onnx2tf also looks up an absent bias by the empty name: zeros, as ONNX assumes
                bias = np.zeros((directions, 2 * GATES[node.op_type] * hidden), np.float32)
                graph.initializer.append(numpy_helper.from_array(bias, f"{prefix}_bias"))
                inputs[3] = f"{prefix}_bias"
            for slot in slots:
                inputs[slot] = inputs[slot] or state
            del node.input[:]
            node.input.extend(inputs)
            changed += 1
        new_nodes.append(node)
    if not changed:
        return ""
    del graph.node[:]
    graph.node.extend(new_nodes)
    return f"lstm_initial_states: gave {changed} recurrent node(s) explicit zero initial states"


def _dynamic_zero_state(graph: Any, x: str, prefix: str, directions: int, hidden: int,
                        batch_first: bool) -> tuple[str, list]:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    head = numpy_helper.from_array(np.array([directions], dtype=np.int64), f"{prefix}_dirs")
    tail = numpy_helper.from_array(np.array([hidden], dtype=np.int64), f"{prefix}_hidden")
    axis = numpy_helper.from_array(np.array([0 if batch_first else 1], dtype=np.int64), f"{prefix}_axis")
    graph.initializer.extend([head, tail, axis])
    parts = [f"{prefix}_batch", head.name, tail.name] if batch_first else [head.name, f"{prefix}_batch", tail.name]
    nodes = [
        helper.make_node("Shape", [x], [f"{prefix}_shape"]),
        helper.make_node("Gather", [f"{prefix}_shape", axis.name], [f"{prefix}_batch"], axis=0),
        helper.make_node("Concat", parts, [f"{prefix}_dims"], axis=0),
        helper.make_node("ConstantOfShape", [f"{prefix}_dims"], [prefix],
                         value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
    ]
    return prefix, nodes


def _known_shapes(model: Any) -> dict[str, list[int | None]]:
    graph = model.graph
    shapes = {}
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    return shapes


def _has_states(node: Any) -> bool:
    inputs = list(node.input)
    return all(len(inputs) > slot and inputs[slot] for slot in STATE_INPUTS[node.op_type])


REWRITES = (Rewrite('lstm_initial_states', FIX, add_lstm_initial_states),)
