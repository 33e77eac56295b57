"""A strided convolution over few channels → SpaceToDepth, then a stride-1 convolution — for the int8 file only.

XNNPACK's int8 convolution pays per kernel tap for a whole block of input channels, however few there
are, so a wide stem over 3 channels runs slower in int8 than in float while every other int8
convolution runs faster than its float twin (README "Speed edits: the measurements behind them"). Folding each s×s block of pixels into channels (SpaceToDepth) leaves a ⌈k/s⌉² tap
convolution over s²·C channels that computes the same sums (the kernel padded with zeros so that the
front padding is a whole number of blocks): 16 taps instead of 49 for that stem. Float files keep the
plain convolution, which XNNPACK runs faster there.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, replace_node
from torch2tf.conversion.rewrites.registry import FULL_INTEGER, INT8, Rewrite

MAX_BLOCK_CHANNELS = 16  # s²·C up to one block of XNNPACK's int8 input channels


def fold_strided_stems(model: Any, index: GraphIndex | None = None) -> str:
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    if not convs or default_opset(model) < 11:  # Pad takes its pads as an input from opset 11
        return ""
    index = index or GraphIndex(model)
    folded = 0
    for node in convs:
        plan = _plan(node, index)
        if plan is not None:
            replace_node(model.graph, node, _steps(index, node, *plan))
            folded += 1
    return f"strided stems (int8): {folded} Conv(s) over few channels as SpaceToDepth + stride-1 Conv" if folded else ""


def _plan(node: Any, index: GraphIndex) -> tuple | None:
    """(stride, front and back pads in blocks, block-aligned kernel) when ``node`` qualifies."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    weight, shape = index.constant(node.input[1]), index.shape(node.input[0])
    strides = list(attrs.get("strides", [1, 1]))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if weight is None or weight.ndim != 4 or not shape or len(shape) != 4 or None in shape[2:] \
            or attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])) \
            or (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) != "NOTSET" \
            or len(set(strides)) != 1 or strides[0] < 2:
        return None
    stride, channels = strides[0], weight.shape[1]
    if channels * stride * stride > MAX_BLOCK_CHANNELS or max(weight.shape[2:]) <= stride \
            or any(size % stride for size in shape[2:]):
        return None
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    kernel, front, back = weight, [], []
    for axis in (0, 1):
        size, k, begin, end = shape[2 + axis], weight.shape[2 + axis], pads[axis], pads[2 + axis]
        shift = -begin % stride  # zero taps in front make the front padding whole blocks
        taps = math.ceil((k + shift) / stride)
        out = (size + begin + end - k) // stride + 1
        front.append((begin + shift) // stride)
        back.append(out + taps - 1 - size // stride - front[-1])
        if back[-1] < 0:  # the strided output stops short of the last block: would need a crop
            return None
        widths = [(0, 0)] * 4
        widths[2 + axis] = (shift, taps * stride - k - shift)
        kernel = np.pad(kernel, widths)
    return stride, front, back, kernel


def _steps(index: GraphIndex, node: Any, stride: int, front: list[int], back: list[int], kernel: np.ndarray) -> list:
    from onnx import helper

    name, out = node.name or node.output[0], node.output[0]
    cout, channels, height, width = kernel.shape
    # SpaceToDepth puts pixel (bh, bw) of each block at channels (bh·s + bw)·C ... + C - 1
    folded = kernel.reshape(cout, channels, height // stride, stride, width // stride, stride)
    folded = folded.transpose(0, 3, 5, 1, 2, 4).reshape(cout, stride * stride * channels, height // stride,
                                                        width // stride)
    pads = index.add_constant(f"{name}_t2tf_block_pads", np.array([0, 0, *front, 0, 0, *back], dtype=np.int64))
    steps = [helper.make_node("SpaceToDepth", [node.input[0]], [f"{out}_t2tf_blocks"], blocksize=stride,
                              name=f"{name}_t2tf_space_to_depth"),
             helper.make_node("Pad", [f"{out}_t2tf_blocks", pads], [f"{out}_t2tf_padded"], name=f"{name}_t2tf_pad")]
    weight = index.add_constant(f"{name}_t2tf_block_kernel", np.ascontiguousarray(folded.astype(kernel.dtype)))
    steps.append(helper.make_node("Conv", [f"{out}_t2tf_padded", weight, *node.input[2:]], [out], name=name,
                                  kernel_shape=list(folded.shape[2:])))
    return steps


# onnx2tf lowers a SpaceToDepth channel-last: a stem that keeps its [N, C, H, W] input (keep-layout strategies)
# folded into one reads it as [N, H, W, C] and the whole int8 conversion fails, so those keep the plain stem.
REWRITES = (Rewrite("strided_stems", INT8, fold_strided_stems, after=("scale_folding",), graph=FULL_INTEGER,
                    keeps_input_layout=False),)
