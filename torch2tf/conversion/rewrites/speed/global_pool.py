"""An AveragePool whose one window covers its whole input → GlobalAveragePool.

Hugging Face's EfficientNet pools its last feature map with ``nn.AvgPool2d(hidden_dim, ceil_mode=True)``:
a 1280-wide (320 in the tiny corpus config) kernel over a 1×1 map. onnx2tf 1.28.8 turns ceil_mode
into an explicit PAD to the kernel's size, so the TFLite file pads a 1×1×320 map to 320×320×320
before averaging it. Without padding and with one output
position whose window starts at 0 and reaches past every input position, the op averages its whole
input whatever ``ceil_mode`` and ``count_include_pad`` say (the overhang is never counted):
exactly GlobalAveragePool, which onnx2tf turns into a MEAN.
"""
from __future__ import annotations

from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex, replace_node
from torch2tf.conversion.rewrites.registry import SPEED, Rewrite


def globalize_whole_input_pools(model: Any, index: GraphIndex | None = None) -> str:
    from onnx import helper

    pools = [n for n in model.graph.node if n.op_type == "AveragePool"]
    if not pools:
        return ""
    index = index or GraphIndex(model)
    replaced = 0
    for node in pools:
        if not _covers_whole_input(node, index.shape(node.input[0]), index.shape(node.output[0])):
            continue
        replace_node(model.graph, node, [helper.make_node("GlobalAveragePool", [node.input[0]], list(node.output),
                                                          name=f"{node.name}_t2tf_global")])
        replaced += 1
    return f"global pool: {replaced} AveragePool(s) whose one window covers the input → GlobalAveragePool" \
        if replaced else ""


def _covers_whole_input(node: Any, in_shape: list | None, out_shape: list | None) -> bool:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if in_shape is None or out_shape is None or len(in_shape) < 3 or len(in_shape) != len(out_shape):
        return False
    spatial, kernel = in_shape[2:], list(attrs.get("kernel_shape", []))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    return (len(kernel) == len(spatial) and auto_pad in ("NOTSET", "VALID")
            and not any(attrs.get("pads", [])) and all(d == 1 for d in attrs.get("dilations", [1] * len(kernel)))
            and all(s is not None and k >= s for s, k in zip(spatial, kernel))
            and all(d == 1 for d in out_shape[2:]))


REWRITES = (Rewrite('global_pool', SPEED, globalize_whole_input_pools),)
