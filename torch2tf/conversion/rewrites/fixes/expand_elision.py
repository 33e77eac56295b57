"""Expands that a later broadcast makes anyway → removed.

transformers ≥ 5 builds a model's attention mask even when nothing is masked (a ViT, wav2vec2):
an all-true constant Expanded to ``[batch, 1, q, kv]``, turned into 0/-inf by a Where and added to
the attention scores. onnx2tf 1.28.8 mis-shapes an Expand to a shape computed from a channel-last
input's Shape (rank-6 tensors at the Add). The Add would broadcast the mask to the scores' shape
anyway, so the Expand changes nothing the graph returns: elementwise ops carry the smaller tensor
to an op whose other operand already has every expanded dimension.

"Already has" is checked on concrete shapes: ONNX shape inference with value propagation, run with
the batch at 2 and at 3. Paths through ops that are not elementwise keep their Expand.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

UNARY = {"Cast", "Not", "Neg", "Abs", "Sqrt", "Exp", "Log", "Relu", "Sigmoid", "Tanh", "IsNaN", "Identity"}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Less", "LessOrEqual", "Greater",
          "GreaterOrEqual", "Max", "Min", "Where"}
PROBE_BATCHES = (2, 3)


def elide_broadcast_expands(model: Any, index: GraphIndex | None = None) -> str:
    graph = model.graph
    expands = [n for n in graph.node if n.op_type == "Expand"]
    if not expands:
        return ""
    index = index or GraphIndex(model)
    shapes = [concrete_shapes(model, batch) for batch in PROBE_BATCHES]
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    elided = 0
    for expand in expands:
        source, expanded = expand.input[0], expand.output[0]
        if not all(_known(s.get(source)) and _absorbed(expanded, s[source], consumers, outputs, index, s)
                   for s in shapes):
            continue
        for user in consumers.get(expanded, []):
            user.input[:] = [source if i == expanded else i for i in user.input]
        graph.node.remove(expand)
        elided += 1
    return f"expand_elision: removed {elided} Expand(s) a later broadcast makes anyway" if elided else ""


def _absorbed(tensor: str, small: list[int], consumers: dict, outputs: set[str], index: GraphIndex,
              shapes: dict[str, list[int | None]]) -> bool:
    """Does every use of ``tensor`` broadcast it to the shape it would reach had it the ``small`` shape?"""
    if tensor in outputs or tensor not in consumers:
        return False
    for user in consumers[tensor]:
        others = [i for i in user.input if i != tensor]
        constant = [i for i in others if index.constant(i) is not None]
        variable = [shapes.get(i) for i in others if index.constant(i) is None]
        if user.op_type in UNARY or (user.op_type in BINARY and not variable):
            carried = list(np.broadcast_shapes(small, *[shapes[c] for c in constant]))
            if not _absorbed(user.output[0], carried, consumers, outputs, index, shapes):
                return False
        elif user.op_type in BINARY:
            full = shapes.get(tensor)
            if not _known(full, *variable) or \
                    np.broadcast_shapes(*variable, full) != np.broadcast_shapes(*variable, small):
                return False
        else:
            return False
    return True


def _known(*shapes) -> bool:
    return all(s is not None and None not in s for s in shapes)


def concrete_shapes(model: Any, batch: int) -> dict[str, list[int | None]]:
    """Every tensor's shape with each graph input's dynamic leading axis set to ``batch``."""
    from onnx import ModelProto, shape_inference

    probe = ModelProto()
    probe.CopyFrom(model)
    for value in probe.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = batch
    del probe.graph.value_info[:]
    inferred = shape_inference.infer_shapes(probe, data_prop=True).graph
    shapes = {}
    for value in list(inferred.input) + list(inferred.value_info) + list(inferred.output):
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None
                                  for d in value.type.tensor_type.shape.dim]
    for initializer in probe.graph.initializer:
        shapes[initializer.name] = list(initializer.dims)
    return shapes


# after the rewrites that write Expands or read them: index_grid's are elided too, broadcast_concat's kept
REWRITES = (Rewrite('expand_elision', FIX, elide_broadcast_expands, after=('index_grid', 'broadcast_concat')),)
