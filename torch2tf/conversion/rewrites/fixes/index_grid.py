"""GatherND over an index grid → Slice/Transpose/Unsqueeze/Expand.

transformers ≥ 5 builds attention masks as ``padding_mask[batch_idx, kv_idx]`` with broadcast
aranges (masking_utils' non-vmap expansion); the exporters write that advanced indexing as a
GatherND whose 5-D indices stack an ``arange`` per data axis. onnx2tf 1.28.8 mis-shapes such a
GatherND ("Dimensions must be equal … [1,1,2,16,16], [1,1,16,2,16]").

When every index component is an arange over its data axis placed along one axis of the index
grid, the gather only moves and repeats data: ``out = Expand(Unsqueeze(Transpose(data[:n])), S)``.
The rewrite recognizes the components in both forms the exporters leave after onnxsim — one
folded constant, or ``Concat(Unsqueeze(Expand(arange)))`` with ``Range(0, n, 1)`` or a constant
arange — and replaces the GatherND (same output name) with those ops, which onnx2tf converts.
A component that is anything else leaves the GatherND as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, prune_dead_nodes, replace_node
from torch2tf.conversion.rewrites.registry import FIX, Rewrite


@dataclass
class Component:
    """One index component: an arange of ``length`` (an int, or a tensor name) along grid ``axes``."""

    axes: list[int]  # grid axes it can lie along (several only for length 1)
    length: int | str
    length_dim: tuple[str, int] | None = None  # (tensor, axis) whose size the length is, when known
    source: str = ""  # the tensor before it was expanded to the grid


def flatten_index_grids(model: Any, index: GraphIndex | None = None) -> str:
    graph = model.graph
    index = index or GraphIndex(model)
    changed = 0
    for node in [n for n in graph.node if n.op_type == "GatherND"]:
        if _attr(node, "batch_dims", 0) != 0:
            continue
        grid = _grid(index, node.input[1])
        if grid is None:
            continue
        components, shape = grid
        axes = _assign_axes(components)
        data_rank = index.rank(node.input[0])
        if axes is None or data_rank is None or len(components) > data_rank:
            continue
        replace_node(graph, node, _replacement(index, node, components, axes, shape, data_rank))
        changed += 1
    if not changed:
        return ""
    prune_dead_nodes(graph)
    return f"index_grid: turned {changed} GatherND over an arange grid into reshapes"


def _attr(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _grid(index: GraphIndex, indices: str) -> tuple[list[Component], str | list[int]] | None:
    """The components of ``indices`` and the grid shape (static list or a shape tensor), or None."""
    constant = index.constant(indices)
    if constant is not None:
        if constant.ndim < 2:
            return None
        parts = [_constant_component(constant[..., k]) for k in range(constant.shape[-1])]
        return (parts, list(constant.shape[:-1])) if all(parts) else None
    concat = index.producer(indices)
    if concat is None or concat.op_type != "Concat" or _attr(concat, "axis", 0) not in (-1, index.rank(indices) - 1):
        return None
    parts, shapes = [], set()
    for name in concat.input:
        unsqueeze = index.producer(name)
        if unsqueeze is None or unsqueeze.op_type != "Unsqueeze" or not _is_last_axis(index, unsqueeze):
            return None
        source = unsqueeze.input[0]
        expand = index.producer(source)
        if expand is not None and expand.op_type == "Expand":
            shapes.add(expand.input[1])
            source = expand.input[0]
        part = _component(index, source)
        if part is not None:
            part.source = source
        parts.append(part)
    if not all(parts) or len(shapes) != 1:
        return None
    return parts, shapes.pop()


def _is_last_axis(index: GraphIndex, unsqueeze: Any) -> bool:
    axes = index.constant(unsqueeze.input[1]) if len(unsqueeze.input) > 1 else None
    rank = index.rank(unsqueeze.output[0])
    return axes is not None and axes.size == 1 and rank is not None and int(axes.item()) % rank == rank - 1


def _constant_component(values: np.ndarray) -> Component | None:
    """Is this constant an arange along one axis, broadcast along the others?"""
    axes = []
    for axis, size in enumerate(values.shape):
        line = np.arange(size).reshape([size if a == axis else 1 for a in range(values.ndim)])
        if np.array_equal(values, np.broadcast_to(line, values.shape)):
            axes.append(axis)
    if not axes:
        return None
    lengths = {values.shape[a] for a in axes}
    return Component(axes, lengths.pop()) if len(lengths) == 1 else None


def _component(index: GraphIndex, name: str) -> Component | None:
    constant = index.constant(name)
    if constant is not None:
        return _constant_component(constant)
    unsqueeze = index.producer(name)
    if unsqueeze is None or unsqueeze.op_type != "Unsqueeze":
        return None
    rank = index.rank(name)
    added = index.constant(unsqueeze.input[1])
    arange = index.producer(unsqueeze.input[0])
    if rank is None or added is None or arange is None or arange.op_type != "Range":
        return None
    start, delta = index.constant(arange.input[0]), index.constant(arange.input[2])
    if start is None or delta is None or start.size != 1 or delta.size != 1 or start.item() != 0 or delta.item() != 1:
        return None
    kept = [a for a in range(rank) if a not in {int(x) % rank for x in added.ravel()}]
    return Component(kept, arange.input[1], index.dim_source(arange.input[1])) if len(kept) == 1 else None


def _assign_axes(components: list[Component]) -> list[int] | None:
    """One distinct grid axis per component (components with a single choice first)."""
    chosen: dict[int, int] = {}
    for i in sorted(range(len(components)), key=lambda i: len(components[i].axes)):
        free = [a for a in components[i].axes if a not in chosen.values()]
        if not free:
            return None
        chosen[i] = free[0]
    return [chosen[i] for i in range(len(components))]


def _replacement(index: GraphIndex, node: Any, components: list[Component], axes: list[int],
                 shape: str | list[int], data_rank: int) -> list:
    from onnx import helper

    prefix = f"{node.name or 'gathernd'}_t2tf"
    nodes, data = _slice_to_lengths(index, prefix, node.input[0], components)
    grid_rank = len(shape) if isinstance(shape, list) else index.length(shape)
    order = sorted(range(len(components)), key=lambda k: axes[k])
    if order != list(range(len(components))):
        perm = order + list(range(len(components), data_rank))
        nodes.append(helper.make_node("Transpose", [data], [f"{prefix}_moved"], perm=perm))
        data = f"{prefix}_moved"
    missing = [a for a in range(grid_rank) if a not in axes]
    if missing:
        unsqueeze_axes = index.add_constant(f"{prefix}_grid_axes", np.array(missing, np.int64))
        nodes.append(helper.make_node("Unsqueeze", [data, unsqueeze_axes], [f"{prefix}_grid"]))
        data = f"{prefix}_grid"
    if nodes and _grid_of_components(index, shape, components):
        nodes[-1].output[0] = node.output[0]  # the grid is the components' broadcast: data already has its shape
    else:
        nodes += _expand(index, prefix, data, shape, data_rank - len(components), node)
    return nodes


def _slice_to_lengths(index: GraphIndex, prefix: str, data: str, components: list[Component]) -> tuple[list, str]:
    """``data[:n]`` along each axis an arange does not span whole (a gather needs ``n`` ≤ the axis size)."""
    from onnx import helper

    nodes = []
    for k, part in enumerate(components):
        if index.covers_axis(data, k, part):
            continue
        if isinstance(part.length, int):
            ends = index.add_constant(f"{prefix}_end{k}", np.array([part.length], np.int64))
        else:
            ends = f"{prefix}_end{k}"
            one = index.add_constant(f"{prefix}_one", np.array([1], np.int64))
            nodes.append(helper.make_node("Reshape", [part.length, one], [ends]))
        starts = index.add_constant(f"{prefix}_zero", np.array([0], np.int64))
        axis = index.add_constant(f"{prefix}_axis{k}", np.array([k], np.int64))
        nodes.append(helper.make_node("Slice", [data, starts, ends, axis], [f"{prefix}_slice{k}"]))
        data = f"{prefix}_slice{k}"
    return nodes, data


def _expand(index: GraphIndex, prefix: str, data: str, shape: str | list[int], trailing: int, node: Any) -> list:
    from onnx import helper

    if isinstance(shape, list):
        target = index.add_constant(f"{prefix}_shape", np.array(shape + [1] * trailing, np.int64))
        return [helper.make_node("Expand", [data, target], list(node.output), name=node.name)]
    if not trailing:
        return [helper.make_node("Expand", [data, shape], list(node.output), name=node.name)]
    ones = index.add_constant(f"{prefix}_ones", np.ones(trailing, np.int64))
    return [helper.make_node("Concat", [shape, ones], [f"{prefix}_shape"], axis=0),
            helper.make_node("Expand", [data, f"{prefix}_shape"], list(node.output), name=node.name)]


def _grid_of_components(index: GraphIndex, shape: str | list[int], components: list[Component]) -> bool:
    """Is the grid shape ``Shape(op(c_0, c_1, ...))`` of an elementwise broadcast of the components?"""
    if isinstance(shape, list):
        return False
    shape_node = index.producer(shape)
    if shape_node is None or shape_node.op_type != "Shape" or any(
            a.name == "end" or (a.name == "start" and a.i != 0) for a in shape_node.attribute):
        return False
    broadcast = index.producer(shape_node.input[0])
    return broadcast is not None and broadcast.op_type in ("Max", "Min", "Add", "Mul", "Sum") \
        and set(broadcast.input) == {c.source for c in components}


REWRITES = (Rewrite('index_grid', FIX, flatten_index_grids),)
