"""A padded MaxPool over a non-negative input → zero Pad, then an unpadded MaxPool.

ONNX pads a MaxPool with -inf. TFLite's MAX_POOL_2D knows only SAME and VALID, so onnx2tf 1.28.8
writes any other padding (ResNet's stem: 3×3, stride 2, pad 1) as a PADV2 with the float minimum —
an op XNNPACK does not take: it runs on LiteRT's own kernel and splits the graph in two XNNPACK
partitions (README "Speed edits: the measurements behind them").
When the input cannot be negative (it comes from a Relu, a Clip with a minimum ≥ 0, a Sigmoid, a
HardSigmoid or a Softmax) and every window holds at least one real element (pads smaller than the
kernel, no ceil mode), padding with 0 instead of -inf gives the same maximum; a zero PAD is an op
XNNPACK runs (and fuses).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, replace_node
from torch2tf.conversion.rewrites.registry import SPEED, Rewrite

NON_NEGATIVE = {"Relu", "Sigmoid", "HardSigmoid", "Softmax"}


def zero_pad_nonnegative_pools(model: Any, index: GraphIndex | None = None) -> str:
    from onnx import helper

    pools = [n for n in model.graph.node if n.op_type == "MaxPool" and len(n.output) == 1]
    opset = default_opset(model)
    if not pools or opset < 11:  # Pad takes its pads as an input from opset 11
        return ""
    index = index or GraphIndex(model)
    replaced = 0
    for node in pools:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        pads = list(attrs.get("pads", []))
        if not any(pads) or not _zero_pad_is_exact(attrs, pads) or not _non_negative(index, node.input[0]):
            continue
        rank = len(pads) // 2
        full = [0, 0, *pads[:rank], 0, 0, *pads[rank:]]
        pads_name = index.add_constant(f"{node.name}_t2tf_zero_pads", np.array(full, dtype=np.int64))
        padded = f"{node.output[0]}_t2tf_zero_padded"
        kept = [a for a in node.attribute if a.name != "pads"]
        pool = helper.make_node("MaxPool", [padded], list(node.output), name=f"{node.name}_t2tf_unpadded")
        pool.attribute.extend(kept)
        replace_node(model.graph, node, [helper.make_node("Pad", [node.input[0], pads_name], [padded],
                                                          name=f"{node.name}_t2tf_zero_pad", mode="constant"), pool])
        replaced += 1
    return f"non-negative pools: {replaced} padded MaxPool(s) over a non-negative input → zero Pad + MaxPool" \
        if replaced else ""


def _zero_pad_is_exact(attrs: dict, pads: list[int]) -> bool:
    """Every window keeps a real element: each pad smaller than the kernel, no dilation, no ceil mode."""
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    kernel = list(attrs.get("kernel_shape", []))
    rank = len(kernel)
    return (auto_pad == "NOTSET" and not attrs.get("ceil_mode", 0) and not attrs.get("storage_order", 0)
            and all(d == 1 for d in attrs.get("dilations", [1] * rank))
            and len(pads) == 2 * rank and all(p >= 0 for p in pads)
            and all(max(pads[i], pads[i + rank]) < kernel[i] for i in range(rank)))


def _non_negative(index: GraphIndex, name: str) -> bool:
    producer = index.producer(name)
    if producer is None:
        return False
    if producer.op_type in NON_NEGATIVE:
        return True
    if producer.op_type == "Clip" and len(producer.input) > 1 and producer.input[1]:
        low = index.constant(producer.input[1])
        return low is not None and low.size == 1 and float(low.reshape(-1)[0]) >= 0.0
    return False


REWRITES = (Rewrite('nonnegative_pool', SPEED, zero_pad_nonnegative_pools),)
