"""Concat of batch-broadcast constants with a tensor → Pad the tensor, add the constants.

Vision transformers prepend learned tokens: ``cat([cls_token.expand(B, -1, -1), patches], 1)``.
With a dynamic batch that is ``Concat(Expand(constant, [B, 1, 1]), patches)``, and onnx2tf 1.28.8
mis-shapes the Expand of a constant to a shape computed from the (channel-last) input's Shape
("Shape must be rank 5 but is rank 3" at the Concat). Where one input is a tensor and the others
are constants broadcast over axes the tensor has, ``Concat == Pad(tensor) + constants`` placed at
their offsets: the pad inserts zeros and x + 0, 0 + c are exact. The tensor's size along the concat
axis must be static, and a constant may only be broadcast along the tensor's dynamic axes. Only
float tensors of rank 2 or more are rewritten (not the shape vectors a graph computes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, prune_dead_nodes, replace_node
from torch2tf.conversion.rewrites.registry import FIX, Rewrite


def pad_broadcast_concats(model: Any, index: GraphIndex | None = None) -> str:
    graph, index = model.graph, index or GraphIndex(model)
    changed = 0
    for node in [n for n in graph.node if n.op_type == "Concat"]:
        nodes = _replacement(index, node)
        if nodes is None:
            continue
        replace_node(graph, node, nodes)
        changed += 1
    if not changed:
        return ""
    prune_dead_nodes(graph)
    return f"broadcast_concat: {changed} Concat(s) of broadcast constants as Pad + Add"


def _constant_part(index: GraphIndex, name: str) -> np.ndarray | None:
    """The value of a Concat input that is a constant, or a constant Expanded to some shape."""
    value = index.constant(name)
    if value is not None:
        return value
    expand = index.producer(name)
    return index.constant(expand.input[0]) if expand is not None and expand.op_type == "Expand" else None


def _replacement(index: GraphIndex, node: Any) -> list | None:
    from onnx import helper

    parts = [_constant_part(index, name) for name in node.input]
    tensors = [i for i, part in enumerate(parts) if part is None]
    if len(tensors) != 1 or len(parts) < 2:
        return None
    tensor = node.input[tensors[0]]
    shape = index.shape(tensor)
    if shape is None or len(shape) < 2 or not all(p.dtype.kind == "f" for p in parts if p is not None):
        return None  # shape vectors and index tensors are onnx2tf's to fold
    axis = next(a.i for a in node.attribute if a.name == "axis") % len(shape)
    if shape[axis] is None or any(p is not None and p.ndim != len(shape) for p in parts):
        return None
    # The constants' block: the tensor's static axes at full size, its dynamic axes at 1.
    block_shape = [1 if d is None else d for d in shape]
    dtype = next(p.dtype for p in parts if p is not None)
    blocks, before = [], 0
    for i, part in enumerate(parts):
        target = list(block_shape)
        target[axis] = shape[axis] if part is None else part.shape[axis]
        if part is None:
            blocks.append(np.zeros(target, dtype=dtype))
            continue
        if any(p not in (1, t) for a, (p, t) in enumerate(zip(part.shape, target)) if a != axis):
            return None
        blocks.append(np.broadcast_to(part, target))
        before += part.shape[axis] if i < tensors[0] else 0
    after = sum(b.shape[axis] for b in blocks) - before - shape[axis]
    pads = [0] * (2 * len(shape))
    pads[axis], pads[len(shape) + axis] = before, after
    prefix = f"{node.name or 'concat'}_t2tf"
    pad_values = index.add_constant(f"{prefix}_pads", np.array(pads, np.int64))
    constants = index.add_constant(f"{prefix}_tokens", np.concatenate(blocks, axis=axis))
    return [helper.make_node("Pad", [tensor, pad_values], [f"{prefix}_padded"], mode="constant"),
            helper.make_node("Add", [f"{prefix}_padded", constants], list(node.output), name=node.name)]


# after index_grid: the Concats and Expands it writes are seen as they will reach onnx2tf
REWRITES = (Rewrite('broadcast_concat', FIX, pad_broadcast_concats, after=('index_grid',)),)
