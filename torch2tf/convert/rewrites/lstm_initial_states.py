"""Give LSTM nodes explicit zero initial states.

onnx2tf 1.28.8 crashes on a bidirectional LSTM without initial_h/initial_c: ``ops/LSTM.py``
indexes ``initial_h[1]`` when it is None. Zero states are what ONNX assumes when they are absent,
so adding them computes the same thing. Their batch size is read from X at run time, so a dynamic
batch stays dynamic.
"""
from __future__ import annotations

from typing import Any


def add_lstm_initial_states(model: Any) -> str:
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    graph = model.graph
    changed = 0
    new_nodes = []
    for node in graph.node:
        if node.op_type == "LSTM" and not _has_states(node):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            hidden = int(attrs["hidden_size"])
            directions = 2 if attrs.get("direction", b"forward") in (b"bidirectional", "bidirectional") else 1
            batch_axis = 0 if int(attrs.get("layout", 0)) == 1 else 1
            prefix = f"{node.name or 'lstm'}_t2tf_zero_state"
            shape_name, batch_name, dims_name, state_name = (f"{prefix}_{s}" for s in ("shape", "batch", "dims", "h"))
            head = numpy_helper.from_array(np.array([directions], dtype=np.int64), f"{prefix}_dirs")
            tail = numpy_helper.from_array(np.array([hidden], dtype=np.int64), f"{prefix}_hidden")
            index = numpy_helper.from_array(np.array([batch_axis], dtype=np.int64), f"{prefix}_axis")
            graph.initializer.extend([head, tail, index])
            new_nodes += [
                helper.make_node("Shape", [node.input[0]], [shape_name]),
                helper.make_node("Gather", [shape_name, index.name], [batch_name], axis=0),
                helper.make_node("Concat", [head.name, batch_name, tail.name], [dims_name], axis=0),
                helper.make_node("ConstantOfShape", [dims_name], [state_name],
                                 value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
            ]
            inputs = list(node.input) + [""] * (7 - len(node.input))
            inputs[5] = inputs[5] or state_name
            inputs[6] = inputs[6] or state_name
            del node.input[:]
            node.input.extend(inputs)
            changed += 1
        new_nodes.append(node)
    if not changed:
        return ""
    del graph.node[:]
    graph.node.extend(new_nodes)
    return f"lstm_initial_states: gave {changed} LSTM node(s) explicit zero initial states"


def _has_states(node: Any) -> bool:
    inputs = list(node.input)
    return len(inputs) >= 7 and bool(inputs[5]) and bool(inputs[6])
