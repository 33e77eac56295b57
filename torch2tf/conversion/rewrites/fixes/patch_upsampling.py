"""ConvTranspose with kernel = stride (a U-Net's 2×2/2 up-convolution) → 1×1 Conv + DepthToSpace.

onnx2tf 1.28.8 derives a ConvTranspose's output size by running onnxruntime on dummy inputs; with a
dynamic height or width (``{h}``, ``{w}``) its dummies are 1 pixel, the graph fails there ("Non concat
axis dimensions must match") or the size found is baked in. When the kernel equals the stride, without
padding, dilation or groups, every input pixel writes its own s×s output patch:
``out[n, o, h·s+i, w·s+j] = Σ_c x[n, c, h, w] · W[c, o, i, j] + b[o]``. That is a 1×1 convolution to
s·s·O channels, ordered (i, j, o), followed by DepthToSpace(s) in DCR mode — the same sums, and two ops
onnx2tf converts at any size. Applied only on graphs with a dynamic axis beyond the batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.fixes.dynamic_axes import replace_each
from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite


def patch_convolutions(model: Any, index: GraphIndex | None = None) -> str:
    changed = replace_each(model, index, _as_patches)
    return f"patch_upsampling: {changed} ConvTranspose(kernel = stride) made 1x1 Conv + DepthToSpace" if changed else ""


def _as_patches(graph: Any, index: GraphIndex, node: Any) -> list:
    from onnx import helper, numpy_helper

    weight = index.constant(node.input[1]) if node.op_type == "ConvTranspose" and len(node.input) > 1 else None
    stride = _patch_stride(node, weight)
    bias = index.constant(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(0)
    if stride is None or bias is None:
        return []
    channels_in, channels_out = weight.shape[0], weight.shape[1]
    # W'[(i·s + j)·O + o, c] = W[c, o, i, j]
    kernel = weight.transpose(2, 3, 1, 0).reshape(stride * stride * channels_out, channels_in, 1, 1)
    prefix = f"{node.output[0]}__patches"
    graph.initializer.append(numpy_helper.from_array(kernel.astype(weight.dtype), f"{prefix}_w"))
    inputs = [node.input[0], f"{prefix}_w"]
    if bias.size:
        graph.initializer.append(numpy_helper.from_array(np.tile(bias, stride * stride), f"{prefix}_b"))
        inputs.append(f"{prefix}_b")
    return [helper.make_node("Conv", inputs, [f"{prefix}_conv"], kernel_shape=[1, 1]),
            helper.make_node("DepthToSpace", [f"{prefix}_conv"], list(node.output), blocksize=stride, mode="DCR")]


def _patch_stride(node: Any, weight: np.ndarray | None) -> int | None:
    """The stride of a 2-D ConvTranspose whose kernel equals its stride, with nothing else set; else None."""
    if weight is None or weight.ndim != 4:
        return None
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    kernel = list(attrs.get("kernel_shape", weight.shape[2:]))
    strides = list(attrs.get("strides", [1, 1]))
    plain = (all(p == 0 for p in attrs.get("pads", [0])) and all(d == 1 for d in attrs.get("dilations", [1]))
             and attrs.get("group", 1) == 1 and all(p == 0 for p in attrs.get("output_padding", [0]))
             and "output_shape" not in attrs and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))
    if not plain or kernel != strides or kernel[0] != kernel[1] or kernel[0] < 2 or list(weight.shape[2:]) != kernel:
        return None
    return int(kernel[0])


REWRITES = (Rewrite("patch_upsampling", FIX, patch_convolutions),)
