"""A gather from a flattened tensor that reads it in order (an ``as_strided`` view) → a Reshape.

torch.onnx's dynamo exporter writes ``aten.as_strided`` as the tensor flattened to 1-D and gathered
at indices computed from its sizes: ``Gather(Reshape(x, [-1]), Range(0, N)·s0 + … )``. timm's
classifier heads take such a view of a pooled [N, C, 1, 1] map before their LayerNorm (PoolFormer,
EdgeNeXt). onnx2tf 1.28.8 fails on it both ways: with a dynamic batch its tf.range gets the batch as
a 1-element tensor ("Shape must be rank 0 but is rank 1 for 'limit'"); with the batch fixed it flattens
the channel-last tensor, so the gather reads the values in another order (cosine 0.04, caught by parity).

Where the indices read every element once, in order (the view is the tensor itself, only reshaped),
the gather is that Reshape. The indices are computed, not guessed: the subgraph that makes them (which
must read the graph's inputs through ``Shape`` alone) runs in onnxruntime with the batch at 2 and at 3,
and both results must be ``arange(size)`` in a shape whose dims after the first do not change.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.fixes.expand_elision import concrete_shapes
from torch2tf.conversion.rewrites.graph import GraphIndex, prune_dead_nodes, replace_node
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

PROBE_BATCHES = (2, 3)


def reshape_ordered_gathers(model: Any, index: GraphIndex | None = None) -> str:
    from onnx import helper

    graph = model.graph
    candidates = [n for n in graph.node if n.op_type == "Gather" and _axis(n) == 0]
    if not candidates:
        return ""
    index = index or GraphIndex(model)
    shapes: dict[int, dict] = {}  # batch → every tensor's shape: one inference per batch for all candidates
    rewritten = 0
    for gather in candidates:
        flatten = index.producer(gather.input[0])
        if flatten is None or flatten.op_type != "Reshape" or index.rank(flatten.output[0]) != 1:
            continue
        target = _view_shape(model, index, flatten.input[0], gather.input[1], shapes)
        if target is None:
            continue
        shape = index.add_constant(f"{gather.output[0]}_view_shape", np.array(target, dtype=np.int64))
        replace_node(graph, gather, [helper.make_node("Reshape", [flatten.input[0], shape], list(gather.output),
                                                      name=f"{gather.name or gather.output[0]}_as_reshape")])
        rewritten += 1
    if not rewritten:
        return ""
    prune_dead_nodes(graph)
    return f"strided_views: {rewritten} in-order gather(s) from a flattened tensor written as Reshape"


def _axis(node: Any) -> int:
    return next((a.i for a in node.attribute if a.name == "axis"), 0)


def _view_shape(model: Any, index: GraphIndex, source: str, indices: str, known: dict[int, dict]) -> list[int] | None:
    """[-1, d1, …] when ``indices`` is arange(size of source) at every probed batch, its trailing dims fixed
    (``known``: the shapes at each batch, inferred on first need)."""
    shapes = []
    for batch in PROBE_BATCHES:
        values = _evaluate(model, index, indices, batch)
        if batch not in known:
            known[batch] = concrete_shapes(model, batch)
        source_shape = known[batch].get(source)
        size = None if source_shape is None or None in source_shape else int(np.prod(source_shape))
        if values is None or size is None or values.size != size or values.ndim == 0 \
                or not np.array_equal(values.reshape(-1), np.arange(size)):
            return None
        shapes.append(values.shape)
    if len({s[1:] for s in shapes}) != 1:
        return None
    return [-1, *shapes[0][1:]]


def _evaluate(model: Any, index: GraphIndex, name: str, batch: int) -> np.ndarray | None:
    """``name``'s value at ``batch``, from the nodes it depends on; None when it depends on input values."""
    constant = index.constant(name)
    if constant is not None:
        return constant
    nodes, inputs = _ancestors(model, index, name)
    if nodes is None:
        return None
    import onnxruntime as ort
    from onnx import helper

    graph = model.graph
    used = {i for n in nodes for i in n.input}
    initializers = [i for i in graph.initializer if i.name in used]
    values = [i for i in graph.input if i.name in inputs]
    probe = helper.make_model(helper.make_graph(nodes, "probe", values, [helper.make_empty_tensor_value_info(name)],
                                                initializers),
                              opset_imports=list(model.opset_import), ir_version=model.ir_version)
    feeds = {}
    for value in values:
        dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        if not dims or None in dims[1:]:
            return None  # only the batch is probed
        dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        feeds[value.name] = np.zeros([batch if dims[0] is None else dims[0], *dims[1:]], dtype=dtype)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([name], feeds)[0]


def _ancestors(model: Any, index: GraphIndex, name: str) -> tuple[list | None, set[str]]:
    """The nodes ``name`` is computed by, in graph order, and the graph inputs they read (through Shape only)."""
    graph_inputs = {i.name for i in model.graph.input} - {i.name for i in model.graph.initializer}
    needed, inputs, stack = set(), set(), [name]
    while stack:
        tensor = stack.pop()
        node = index.producer(tensor)
        if node is None:
            if tensor in graph_inputs:
                return None, set()  # a value of the input, not only its shape
            continue
        if id(node) in needed:
            continue
        needed.add(id(node))
        if node.op_type == "Shape":
            if node.input[0] not in graph_inputs:
                return None, set()  # an inner tensor's shape: the probe would run the model itself
            inputs.add(node.input[0])
            continue
        stack += [i for i in node.input if i]
    return [n for n in model.graph.node if id(n) in needed], inputs


REWRITES = (Rewrite("strided_views", FIX, reshape_ordered_gathers),)
