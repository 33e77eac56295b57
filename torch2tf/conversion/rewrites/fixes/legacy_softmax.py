"""Softmax, LogSoftmax and Hardmax before opset 13 → the same computation spelled in opset-13 terms.

Before opset 13 these ops flatten their input to 2-D at ``axis`` and normalize over everything from
``axis`` on (for an NCHW map with ``axis=1``: over C·H·W); from opset 13 they normalize over ``axis``
alone. onnx2tf 1.28.8 applies the new meaning to old graphs, so an old classifier whose softmax
runs over a feature map comes out wrong (max abs 0.88 on a 1x10x6x6 map, caught by parity). The
old meaning, written out: a reshape to 2-D at ``axis`` → the op over the last axis → a reshape back
(constant shapes with ``-1`` for a dynamic batch; onnx2tf mis-places a Flatten at axis > 1 then). Nodes
where both meanings agree (nothing but 1s after ``axis``) are left alone.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, replace_node
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

NEW_MEANING_OPSET = 13
OPS = ("Softmax", "LogSoftmax", "Hardmax")


def spell_out_legacy_softmax(model: Any, index: GraphIndex | None = None) -> str:
    from onnx import helper

    opset = default_opset(model, NEW_MEANING_OPSET)
    if opset >= NEW_MEANING_OPSET or not any(n.op_type in OPS for n in model.graph.node):
        return ""
    graph, index = model.graph, index or GraphIndex(model)
    rewritten = 0
    for node in [n for n in graph.node if n.op_type in OPS]:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = index.shape(node.input[0])
        if shape is None:
            continue  # rank unknown: nothing to decide from
        axis = axis + len(shape) if axis < 0 else axis
        trailing = shape[axis + 1:]
        if all(d == 1 for d in trailing):
            continue
        stem = f"{node.name or node.output[0]}_t2tf_legacy"
        flat, normalized, target, flat_shape = (f"{stem}_flat", f"{stem}_out", f"{stem}_shape", f"{stem}_flat_shape")
        if all(d is not None for d in shape[1:]):  # constant shapes; -1 takes a dynamic batch along
            index.add_constant(flat_shape, np.array([-1, math.prod(shape[axis:])], np.int64))
            index.add_constant(target, np.array([-1, *shape[1:]], np.int64))
            head, shape_nodes = [helper.make_node("Reshape", [node.input[0], flat_shape], [flat], name=f"{stem}_Flat")], []
        else:
            head = [helper.make_node("Flatten", [node.input[0]], [flat], axis=axis, name=f"{stem}_Flatten")]
            shape_nodes = [helper.make_node("Shape", [node.input[0]], [target], name=f"{stem}_Shape")]
        replace_node(graph, node, [
            *head, helper.make_node(node.op_type, [flat], [normalized], axis=1, name=f"{stem}_{node.op_type}"),
            *shape_nodes, helper.make_node("Reshape", [normalized, target], list(node.output), name=f"{stem}_Reshape")])
        rewritten += 1
    if not rewritten:
        return ""
    return f"legacy softmax: {rewritten} opset-{opset} softmax-family op(s) spelled out over the flattened axes"


REWRITES = (Rewrite('legacy_softmax', FIX, spell_out_legacy_softmax),)
