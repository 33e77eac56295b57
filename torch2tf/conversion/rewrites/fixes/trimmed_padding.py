"""A convolution padded on both sides and then trimmed at the end → the same convolution padded less at the end.

Even-kernel "same" convolutions are written as ``Conv(pads=[p, p]) → x[..., :-k]`` (wav2vec2's and HuBERT's
positional convolution: kernel 16, padding 8, the last frame dropped). onnx2tf 1.28.8 loses a constant
negative end on an axis whose size is dynamic (``{t}``): the trim is skipped and the residual add that
follows fails on lengths T+1 vs T. With stride 1 along the axis, the output frames are
``L + p_begin + p_end − K + 1`` and frame i only reads input frames up to ``i − p_begin + K − 1``, so the
first frames of the wider output are exactly the outputs of the narrower padding: dropping the last k
frames equals padding k less at the end. The Conv takes the Slice's output name and the Slice goes.
Applied only on graphs with a dynamic axis beyond the batch.
"""
from __future__ import annotations

from typing import Any

from torch2tf.conversion.rewrites.fixes.dynamic_axes import has_dynamic_axes
from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite


def fold_trims_into_padding(model: Any, index: GraphIndex | None = None) -> str:
    if not has_dynamic_axes(model):
        return ""
    from onnx import helper

    index = index or GraphIndex(model)
    graph = model.graph
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    outputs = {o.name for o in graph.output}
    changed = 0
    for node in list(graph.node):
        trim = _trim(index, node)
        conv = index.producer(node.input[0]) if trim else None
        if conv is None or conv.op_type != "Conv" or consumers.get(conv.output[0]) != 1 or conv.output[0] in outputs:
            continue
        axis, frames = trim
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        spatial = axis - 2
        rank = len(attrs.get("kernel_shape", []))
        pads = list(attrs.get("pads", [0] * 2 * rank))
        strides = list(attrs.get("strides", [1] * rank))
        if not rank or spatial >= rank or strides[spatial] != 1 or attrs.get("auto_pad", b"NOTSET") not in (
                b"NOTSET", "NOTSET") or pads[rank + spatial] < frames:
            continue
        pads[rank + spatial] -= frames
        for attribute in [a for a in conv.attribute if a.name == "pads"]:
            conv.attribute.remove(attribute)
        conv.attribute.append(helper.make_attribute("pads", pads))
        conv.output[0] = node.output[0]
        graph.node.remove(node)
        changed += 1
    return f"trimmed_padding: {changed} trimmed convolution(s) padded less instead" if changed else ""


def _trim(index: GraphIndex, node: Any) -> tuple[int, int] | None:
    """(axis, k) of a Slice ``x[..., :-k]`` along one axis ≥ 2 with constant start 0 and step 1."""
    if node.op_type != "Slice" or len(node.input) < 4:
        return None
    start, end, axes = (index.constant(node.input[i]) for i in (1, 2, 3))
    steps = index.constant(node.input[4]) if len(node.input) > 4 and node.input[4] else None
    rank = index.rank(node.input[0])
    if start is None or end is None or axes is None or rank is None or any(a.size != 1 for a in (start, end, axes)):
        return None
    if int(start.item()) != 0 or int(end.item()) >= 0 or (steps is not None and int(steps.item()) != 1):
        return None
    axis = int(axes.item()) % rank
    return (axis, -int(end.item())) if axis >= 2 else None


REWRITES = (Rewrite("trimmed_padding", FIX, fold_trims_into_padding),)
