"""A depthwise convolution with a kernel wider than 5 → a sum of depthwise convolutions of at most 5×5.

XNNPACK (LiteRT's CPU delegate) runs a depthwise kernel of up to 25 taps in one pass and anything
larger in a slow multi-pass kernel (README "Speed edits: the measurements behind them"). The kernel is cut
into tiles of at most 5×5; each tile is a depthwise convolution, without padding, of the padded
input sliced at the tile's offset; their sum (and the bias once) is the original convolution.
Stride 1 only (a strided tile would need its slice aligned to the stride).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, replace_node
from torch2tf.conversion.rewrites.registry import SPEED, Rewrite

MAX_TAPS_SIDE = 5  # XNNPACK's single-pass depthwise kernels stop at 25 taps


def tile_large_depthwise(model: Any, index: GraphIndex | None = None) -> str:
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    opset = default_opset(model)
    if not convs or opset < 13:  # Pad and Slice take their pads, starts and axes as inputs from 13
        return ""
    index = index or GraphIndex(model)
    replaced = 0
    for node in convs:
        weight = index.constant(node.input[1])
        if weight is None or not _tileable(node, weight, index.shape(node.input[0])):
            continue
        bias = index.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        replace_node(model.graph, node, _tiles(index, node, weight, bias))
        replaced += 1
    return f"large depthwise: {replaced} depthwise Conv(s) wider than 5×5 cut into ≤5×5 tiles" if replaced else ""


def _tileable(node: Any, weight: np.ndarray, in_shape: list | None) -> bool:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    channels = in_shape[1] if in_shape and len(in_shape) == 4 else None
    return (weight.ndim == 4 and weight.shape[1] == 1 and channels is not None and attrs.get("group", 1) == channels
            and weight.shape[0] == channels and max(weight.shape[2:]) > MAX_TAPS_SIDE and auto_pad == "NOTSET"
            and all(s == 1 for s in attrs.get("strides", [1, 1]))
            and all(d == 1 for d in attrs.get("dilations", [1, 1])))


def _tiles(index: GraphIndex, node: Any, weight: np.ndarray, bias: np.ndarray | None) -> list:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    name, out, channels = node.name or node.output[0], node.output[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    padded = f"{out}_t2tf_padded"
    steps = [helper.make_node("Pad", [node.input[0], index.add_constant(
        f"{name}_t2tf_pads", np.array([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], dtype=np.int64))], [padded],
        name=f"{name}_t2tf_pad", mode="constant")]
    axes = index.add_constant("t2tf_spatial_axes", np.array([2, 3], dtype=np.int64))
    partial = []
    for r0 in range(0, kh, MAX_TAPS_SIDE):
        for c0 in range(0, kw, MAX_TAPS_SIDE):
            r1, c1 = min(r0 + MAX_TAPS_SIDE, kh), min(c0 + MAX_TAPS_SIDE, kw)
            tag = f"{name}_t2tf_tile{r0}_{c0}"
            # rows r0 … end - (kh - r1): what a VALID r1-r0 tall kernel needs for the original output height
            last = np.iinfo(np.int64).max
            ends = [-(kh - r1) if r1 < kh else last, -(kw - c1) if c1 < kw else last]
            starts = index.add_constant(f"{tag}_starts", np.array([r0, c0], dtype=np.int64))
            stops = index.add_constant(f"{tag}_ends", np.array(ends, dtype=np.int64))
            kernel = index.add_constant(f"{tag}_weight", np.ascontiguousarray(weight[:, :, r0:r1, c0:c1]))
            steps.append(helper.make_node("Slice", [padded, starts, stops, axes], [f"{tag}_in"], name=f"{tag}_slice"))
            steps.append(helper.make_node("Conv", [f"{tag}_in", kernel], [f"{tag}_out"], name=f"{tag}_conv",
                                          group=int(channels), kernel_shape=[r1 - r0, c1 - c0]))
            partial.append(f"{tag}_out")
    if bias is not None:
        partial.append(index.add_constant(f"{name}_t2tf_bias", bias.reshape(1, channels, 1, 1).astype(weight.dtype)))
    total = partial[0]
    for k, term in enumerate(partial[1:], start=1):
        total_name = out if k == len(partial) - 1 else f"{out}_t2tf_sum{k}"
        steps.append(helper.make_node("Add", [total, term], [total_name], name=f"{name}_t2tf_add{k}"))
        total = total_name
    return steps


REWRITES = (Rewrite('large_depthwise', SPEED, tile_large_depthwise),)
