"""Exact-GELU subgraphs → one ONNX ``Gelu`` node, which onnx2tf turns into TFLite's builtin GELU.

torch.onnx (dynamo) writes GELU as ``x/√2 → Erf → +1 → 0.5·(…) → x·(…)``, the TorchScript exporter
as ``… → x·(…) → (…)·0.5``. onnx2tf 1.28.8 fuses only the second order with √2 from a Constant
node, and its strict mode then fails validating that Div on rank-4 tensors ("Output tensors of a
Functional model must be the output of a TensorFlow `Layer` … Found: 1.4142135"); an Erf it does
not fuse needs the Flex delegate (FlexErf). Both orders compute ``Gelu(x)`` (approximate="none"),
an ONNX op since opset 20 that onnx2tf converts directly: the graph's opset is raised to 20 when it
gains one (the ops exporters write at 18-19 mean the same at 20).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex, prune_dead_nodes
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

SQRT2 = 1.4142135
GELU_OPSET = 20


@dataclass
class GeluMatch:
    x: str
    outer: Any  # the last multiplication: its output is the GELU's


def fuse_gelu(model: Any, index: GraphIndex | None = None) -> str:
    from onnx import helper

    graph = model.graph
    matches = find_gelus(model)
    for match in matches:
        gelu = helper.make_node("Gelu", [match.x], list(match.outer.output), name=f"{match.outer.name}_t2tf_gelu")
        graph.node.insert(list(graph.node).index(match.outer), gelu)
        graph.node.remove(match.outer)
    if not matches:
        return ""
    prune_dead_nodes(graph)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < GELU_OPSET:
            opset.version = GELU_OPSET
    return f"gelu: fused {len(matches)} exact GELU subgraph(s) into Gelu"


def find_gelus(model: Any) -> list[GeluMatch]:
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

    found = []
    for erf in [n for n in graph.node if n.op_type == "Erf"]:
        div = producers.get(erf.input[0])
        if div is None or div.op_type != "Div" or not _is(constants, div.input[1], SQRT2):
            continue
        x = div.input[0]
        add = only_consumer(erf, "Add")
        if add is None or add.input[0] != erf.output[0] or not _is(constants, add.input[1], 1.0):
            continue
        inner = only_consumer(add, "Mul")
        outer = only_consumer(inner, "Mul") if inner is not None else None
        if outer is None:
            continue
        inner_other = [i for i in inner.input if i != add.output[0]]
        outer_other = [i for i in outer.input if i != inner.output[0]]
        if len(inner_other) != 1 or len(outer_other) != 1:
            continue
        x_then_half = inner_other == [x] and _is(constants, outer_other[0], 0.5)
        half_then_x = _is(constants, inner_other[0], 0.5) and outer_other == [x]
        if x_then_half or half_then_x:
            found.append(GeluMatch(x, outer))
    return found


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


# after legacy_softmax: a fused Gelu raises the opset to 20, and an old Softmax would then read as a new one
REWRITES = (Rewrite('gelu', FIX, fuse_gelu, after=('legacy_softmax',)),)
