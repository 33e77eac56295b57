"""Multiplications by a positive scalar folded into the weights they reach — for the full-integer int8 file only.

In int8 every Mul is an op of its own that reads and requantizes a whole feature map; a scalar factor
costs that for nothing when everything downstream is linear in it. ``y = x · c`` is removed (its
readers read ``x``) when each path from ``y`` passes only ops that commute with a positive scale
(Mul, MatMul without a constant side, pooling, means, Relu, reshapes) and ends in a weight it can
multiply instead: a Conv's or ConvTranspose's constant kernel, a MatMul's constant side, a Gemm's
alpha. Biases are added after the product, so they stay. The spelled-out HardSwish
``(x / 6) · relu6(x + 3)`` feeding a convolution loses its ``/ 6`` this way (one int8 Mul per activation).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, prune_dead_nodes
from torch2tf.conversion.rewrites.registry import FULL_INTEGER, INT8, Rewrite

# Ops whose first output is c times bigger when the named input is (for c > 0: Relu and max pooling too).
PASS_THROUGH = {"Mul": (0, 1), "MatMul": (0, 1), "ReduceMean": (0,), "GlobalAveragePool": (0,), "AveragePool": (0,),
                "GlobalMaxPool": (0,), "MaxPool": (0,), "Relu": (0,), "Reshape": (0,), "Flatten": (0,),
                "Transpose": (0,), "Squeeze": (0,), "Unsqueeze": (0,), "Identity": (0,)}


def fold_scalar_muls(model: Any, index: GraphIndex | None = None) -> str:
    if not any(n.op_type == "Mul" for n in model.graph.node):
        return ""
    index = index or GraphIndex(model)
    consumers, outputs = _consumers(model.graph), {o.name for o in model.graph.output}
    folded = 0
    for node in [n for n in model.graph.node if n.op_type == "Mul"]:
        scaled = _scaled_input(index, node)
        if scaled is None:
            continue
        source, scale = scaled
        sinks = _sinks(node.output[0], consumers, outputs, index)
        if sinks is None:
            continue
        for sink, slot in sinks:
            _scale_weight(index, sink, slot, scale)
        readers = consumers.pop(node.output[0])
        for reader, slot in readers:
            reader.input[slot] = source
        for name in node.input:  # the Mul goes now, so that no later walk meets it
            consumers[name] = [(n, i) for n, i in consumers[name] if n is not node]
        consumers[source] += readers
        model.graph.node.remove(node)
        folded += 1
    if not folded:
        return ""
    prune_dead_nodes(model.graph)  # the scalars and the weights that were replaced
    return f"scale folding (int8): {folded} Mul by a scalar folded into the weights downstream"


def _scaled_input(index: GraphIndex, node: Any) -> tuple[str, float] | None:
    """The tensor ``node`` multiplies by a positive scalar constant (that keeps its shape) and that scalar."""
    for slot in (0, 1):
        value = index.constant(node.input[slot])
        other = node.input[1 - slot]
        if value is None or value.size != 1 or value.dtype.kind != "f" or index.constant(other) is not None:
            continue
        rank = index.rank(other)
        if not (np.isfinite(value).all() and float(value.reshape(())) > 0):
            return None
        if value.ndim == 0 or (rank is not None and value.ndim <= rank):
            return other, float(value.reshape(()))
    return None


def _consumers(graph: Any) -> dict[str, list[tuple[Any, int]]]:
    readers = defaultdict(list)
    for node in graph.node:
        for slot, name in enumerate(node.input):
            readers[name].append((node, slot))
    return readers


def _sinks(start: str, consumers, outputs: set[str], index: GraphIndex) -> list[tuple[Any, int]] | None:
    """The (node, input slot) pairs whose weights take the scale, or None when some path cannot."""
    sinks, seen, pending = [], set(), [start]
    while pending:
        name = pending.pop()
        if name in outputs or not consumers.get(name):
            return None
        for node, slot in consumers[name]:
            if id(node) in seen:  # reached twice: the product would be scaled twice
                return None
            seen.add(id(node))
            if _takes_scale(index, node, slot):
                sinks.append((node, slot))
            elif slot in PASS_THROUGH.get(node.op_type, ()):
                pending.append(node.output[0])
            else:
                return None
    return sinks


def _takes_scale(index: GraphIndex, node: Any, slot: int) -> bool:
    if node.op_type in ("Conv", "ConvTranspose"):
        return slot == 0 and index.constant(node.input[1]) is not None
    if node.op_type == "MatMul":
        return index.constant(node.input[1 - slot]) is not None
    return node.op_type == "Gemm" and slot in (0, 1)


def _scale_weight(index: GraphIndex, node: Any, slot: int, scale: float) -> None:
    from onnx import helper

    if node.op_type == "Gemm":
        attrs = {a.name: a for a in node.attribute}
        alpha = helper.get_attribute_value(attrs["alpha"]) if "alpha" in attrs else 1.0
        if "alpha" in attrs:
            node.attribute.remove(attrs["alpha"])
        node.attribute.append(helper.make_attribute("alpha", float(alpha * scale)))
        return
    weight_slot = 1 if node.op_type in ("Conv", "ConvTranspose") else 1 - slot
    weight = index.constant(node.input[weight_slot])
    scaled = (weight * np.asarray(scale, dtype=weight.dtype)).astype(weight.dtype)
    name = f"{node.input[weight_slot]}_t2tf_scaled_{node.name or node.output[0]}"
    node.input[weight_slot] = index.add_constant(name, scaled)


# after hard_activations_int8: the Mul by 1/6 it writes is folded into the weights downstream
REWRITES = (Rewrite('scale_folding', INT8, fold_scalar_muls, after=('hard_activations_int8',), graph=FULL_INTEGER),)
