"""Shape arithmetic onnx2tf mis-converts when an axis beyond the batch is dynamic (``{seq}``, ``{h}``).

The exporters spell a reshape over a dynamic length as ``Reshape(x, Concat(Shape(x)[0:1], Shape(x)[1:2],
[2], [16]))``, and a slice up to it as ``Slice(table, 0, Shape(ids)[1:2])``. onnx2tf 1.28.8 loses both:
the reshape comes out at the wrong rank (a BERT's attention: "Dimension must be 6 but is 3" at the next
Transpose), and the slice's end vector for the other axes is written as 0 without an end mask (the
position-id table sliced to zero rows, a TFLite RESHAPE failing at run time on 0 elements).

- ``symbolic_reshape``: onnxruntime's symbolic shape inference names every dim of every tensor
  (``2*batch``, ``seq``). Where a computed reshape target has at most one dim that is neither a
  number nor the input's own dim at the same axis, the target becomes a constant: numbers as they
  are, the input's dims copied (0), the one left over -1 (ONNX's own reshape semantics, exact).
- ``dynamic_slice``: a one-axis, step-1 Slice from a constant start to a length read off a tensor's
  shape becomes ``Gather(data, Range(start, Min(end, size)), axis)`` — the same elements, the end
  clamped to the axis as Slice clamps it; to a constant ``-k`` on a dynamic axis, ``Range(start, size - k)``
  (tensors of rank <= 2: onnx2tf does not carry a Gather's axis through its channel-last layout).
  Sympy leaves some constants unsimplified (``floor((32x - 32)/(16x - 16))``): a dim that takes one value at
  every probe size of its symbols counts as that number.

Both run only on graphs with a dynamic input axis beyond the batch: for the others onnxsim has already
folded every shape, and their conversions stay as they were.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, replace_node
from torch2tf.conversion.rewrites.registry import FIX, Rewrite

SYMBOL_PROBES = (97, 256, 1001, 4099)  # sizes a symbolic dim is evaluated at to find one that is a constant


def has_dynamic_axes(model: Any) -> bool:
    """A graph input with a symbolic (or unknown) dim beyond axis 0."""
    constants = {i.name for i in model.graph.initializer}
    return any(not d.HasField("dim_value") for v in model.graph.input if v.name not in constants
               for d in list(v.type.tensor_type.shape.dim)[1:])


def symbolic_dims(model: Any) -> dict[str, list[int | str | None]]:
    """Every tensor's dims as onnxruntime's symbolic shape inference names them (an int, a name, or None)."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    inferred = SymbolicShapeInference.infer_shapes(model, auto_merge=True)
    if inferred is None:
        return {}
    graph = inferred.graph
    dims: dict[str, list[int | str | None]] = {}
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        if value.type.tensor_type.HasField("shape"):
            dims[value.name] = [d.dim_value if d.HasField("dim_value") else _constant_or_name(d.dim_param)
                                for d in value.type.tensor_type.shape.dim]
    return dims


def _constant_or_name(expression: str) -> int | str | None:
    """A symbolic dim that is a constant sympy does not simplify (``floor((32*x - 32)/(16*x - 16))`` = 2) as that
    number: the value it takes at every probe size of its symbols; otherwise the expression itself."""
    if not expression:
        return None
    import sympy

    try:
        parsed = sympy.sympify(expression)
        values = {parsed.subs({s: size for s in parsed.free_symbols}) for size in SYMBOL_PROBES}
    except (sympy.SympifyError, TypeError, ValueError, ZeroDivisionError):
        return expression
    value = values.pop() if len(values) == 1 else None
    return int(value) if value is not None and value.is_Integer and int(value) > 0 else expression


def constant_reshape_targets(model: Any, index: GraphIndex | None = None) -> str:
    if not has_dynamic_axes(model):
        return ""
    from onnx import numpy_helper

    index = index or GraphIndex(model)
    try:
        dims = symbolic_dims(model)
    except Exception:  # noqa: BLE001 (onnxruntime's inference gives up on some graphs: nothing to rewrite)
        return ""
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Reshape" or index.constant(node.input[1]) is not None:
            continue
        target = _constant_target(dims.get(node.input[0]), dims.get(node.output[0]))
        if target is None:
            continue
        name = f"{node.output[0]}__constant_shape"
        model.graph.initializer.append(numpy_helper.from_array(np.array(target, np.int64), name))
        node.input[1] = name
        for attribute in [a for a in node.attribute if a.name == "allowzero"]:
            node.attribute.remove(attribute)  # 0 copies the input's dim: the meaning used here
        changed += 1
    return f"symbolic_reshape: {changed} computed reshape target(s) made constant" if changed else ""


def _constant_target(source: list | None, result: list | None) -> list[int] | None:
    if source is None or result is None or not result:
        return None
    target = []
    for axis, dim in enumerate(result):
        if isinstance(dim, int) and dim > 0:
            target.append(dim)
        elif isinstance(dim, str) and axis < len(source) and source[axis] == dim:
            target.append(0)
        else:
            target.append(-1)
    return target if target.count(-1) <= 1 else None


def replace_each(model: Any, index: GraphIndex | None, replacement: Callable[[Any, GraphIndex, Any], list]) -> int:
    """Each node for which ``replacement(graph, index, node)`` gives nodes is replaced by them, on graphs with a
    dynamic axis beyond the batch; the number replaced."""
    if not has_dynamic_axes(model):
        return 0
    index = index or GraphIndex(model)
    changed = 0
    for node in list(model.graph.node):
        nodes = replacement(model.graph, index, node)
        if nodes:
            replace_node(model.graph, node, nodes)
            changed += 1
    return changed


def gather_dynamic_slices(model: Any, index: GraphIndex | None = None) -> str:
    changed = replace_each(model, index, _slice_as_gather)
    return f"dynamic_slice: {changed} slice(s) to a dynamic length made gathers" if changed else ""


def _slice_as_gather(graph: Any, index: GraphIndex, node: Any) -> list:
    from onnx import helper, numpy_helper

    plan = _slice_plan(index, node)
    if plan is None:
        return []
    start, axis, offset = plan
    data, prefix = node.input[0], f"{node.output[0]}__gather"
    graph.initializer.extend([numpy_helper.from_array(np.array(start, np.int64), f"{prefix}_start"),
                              numpy_helper.from_array(np.array(1, np.int64), f"{prefix}_step"),
                              numpy_helper.from_array(np.array([0], np.int64), f"{prefix}_axis0")])
    if offset is None:  # an end read off a shape, clamped to the axis as Slice clamps it
        end = helper.make_node("Min", [node.input[2], f"{prefix}_size"], [f"{prefix}_end1"])
    else:  # a constant end counted from the back of a dynamic axis
        graph.initializer.append(numpy_helper.from_array(np.array([offset], np.int64), f"{prefix}_offset"))
        end = helper.make_node("Add", [f"{prefix}_size", f"{prefix}_offset"], [f"{prefix}_end1"])
    graph.initializer.append(numpy_helper.from_array(np.array([axis], np.int64), f"{prefix}_axis"))
    # Shape then Gather: onnx2tf mis-indexes Shape's start/end on a tensor it holds channel-last
    return [helper.make_node("Shape", [data], [f"{prefix}_shape"]),
            helper.make_node("Gather", [f"{prefix}_shape", f"{prefix}_axis"], [f"{prefix}_size"], axis=0), end,
            helper.make_node("Squeeze", [f"{prefix}_end1", f"{prefix}_axis0"], [f"{prefix}_end"]),
            helper.make_node("Range", [f"{prefix}_start", f"{prefix}_end", f"{prefix}_step"], [f"{prefix}_idx"]),
            helper.make_node("Gather", [data, f"{prefix}_idx"], list(node.output), axis=axis)]


def _slice_plan(index: GraphIndex, node: Any) -> tuple[int, int, int | None] | None:
    """(start, axis, offset) of a one-axis step-1 Slice from a constant start ≥ 0 to a size read off a shape
    (offset None) or to a constant negative end (the offset from the back) of a dynamic axis."""
    if node.op_type != "Slice" or len(node.input) < 3:
        return None
    start, end = index.constant(node.input[1]), index.constant(node.input[2])
    axes = index.constant(node.input[3]) if len(node.input) > 3 and node.input[3] else np.array([0])
    steps = index.constant(node.input[4]) if len(node.input) > 4 and node.input[4] else np.array([1])
    shape = index.shape(node.input[0])
    # onnx2tf holds rank 3-5 tensors channel-last and does not move a Gather's axis with them (and for a
    # Conv's trimmed output trimmed_padding is exact): tables and sequences of rank <= 2 only
    if start is None or axes is None or steps is None or shape is None or len(shape) > 2:
        return None
    if start.size != 1 or axes.size != 1 or steps.size != 1 or int(steps.item()) != 1 or int(start.item()) < 0:
        return None
    axis = int(axes.item()) % len(shape)
    if end is not None:
        if end.size != 1 or int(end.item()) >= 0 or shape[axis] is not None:
            return None
        return int(start.item()), axis, int(end.item())
    if index.length(node.input[2]) != 1 or index.dim_source(node.input[2]) is None:
        return None
    return int(start.item()), axis, None


REWRITES = (
    Rewrite("symbolic_reshape", FIX, constant_reshape_targets),
    Rewrite("dynamic_slice", FIX, gather_dynamic_slices, after=("symbolic_reshape", "trimmed_padding")),
)
