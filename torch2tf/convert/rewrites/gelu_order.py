"""Reorder exact-GELU subgraphs into the form onnx2tf recognizes as GELU.

torch.onnx (dynamo) writes GELU as ``x/√2 → Erf → +1 → 0.5·(…) → x·(…)``. onnx2tf 1.28.8
only fuses ``x/√2 → Erf → +1 → x·(…) → (…)·0.5`` into ``tf.nn.gelu``; otherwise it emits Erf,
which TFLite runs only through the Flex delegate (FlexErf). Swapping the two multiplications
computes the same product, and TFLite gets its builtin GELU. onnx2tf also only recognizes the
√2 divisor when a Constant node produces it (an initializer reaches it as a numpy array, which
its check skips), so the divisor is moved into a Constant node.
"""
from __future__ import annotations

from typing import Any

SQRT2 = 1.4142135


def reorder_gelu(model: Any) -> str:
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = _scalar_constants(graph)
    producers = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def only_consumer(node, op_type):
        users = consumers.get(node.output[0], [])
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    changed = 0
    new_constants = []
    for erf in [n for n in graph.node if n.op_type == "Erf"]:
        div = producers.get(erf.input[0])
        if div is None or div.op_type != "Div" or not _is(constants, div.input[1], SQRT2):
            continue
        x = div.input[0]
        add = only_consumer(erf, "Add")
        if add is None or add.input[0] != erf.output[0] or not _is(constants, add.input[1], 1.0):
            continue
        half_mul = only_consumer(add, "Mul")
        if half_mul is None:
            continue
        half = [i for i in half_mul.input if i != add.output[0]]
        if len(half) != 1 or not _is(constants, half[0], 0.5):
            continue
        x_mul = only_consumer(half_mul, "Mul")
        if x_mul is None or set(x_mul.input) != {x, half_mul.output[0]}:
            continue
        sqrt2 = f"{div.name or 'gelu'}_t2tf_sqrt2"
        new_constants.append((div, helper.make_node(
            "Constant", [], [sqrt2], value=numpy_helper.from_array(np.array(SQRT2, dtype=np.float32)))))
        div.input[1] = sqrt2
        del half_mul.input[:]
        half_mul.input.extend([x, add.output[0]])
        del x_mul.input[:]
        x_mul.input.extend([half_mul.output[0], half[0]])
        changed += 1
    for div, constant in new_constants:
        nodes = list(graph.node)
        nodes.insert(nodes.index(div), constant)
        del graph.node[:]
        graph.node.extend(nodes)
    return f"gelu_order: reordered {changed} GELU subgraph(s) for onnx2tf's GELU fusion" if changed else ""


def _scalar_constants(graph: Any) -> dict[str, float]:
    import numpy as np
    from onnx import numpy_helper

    values = {}
    for init in graph.initializer:
        if int(np.prod(init.dims)) != 1 or init.data_location == init.EXTERNAL:
            continue  # only inline scalars matter (and external weights need their file)
        values[init.name] = float(numpy_helper.to_array(init).reshape(()))
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            array = numpy_helper.to_array(node.attribute[0].t)
            if array.size == 1:
                values[node.output[0]] = float(array.reshape(()))
    return values


def _is(constants: dict[str, float], name: str, value: float) -> bool:
    return name in constants and abs(constants[name] - value) < 1e-6
