"""GroupNorm as the exporters write it → the same statistics without leaving the 4-D layout.

torch.onnx writes ``nn.GroupNorm`` over an NCHW map as Reshape(N, G, -1) → InstanceNormalization →
Reshape(back). The 3-D middle has no channel-last meaning, so onnx2tf 1.28.8 wraps every group
norm in TRANSPOSEs and RESHAPEs (README "Speed edits: the measurements behind them"). Here the middle becomes ops on the 4-D map: per-channel means over H, W
(ReduceMean), averaged within each group by a 1×1 convolution with a block-diagonal 1/(C/G) kernel,
subtracted; the variance the same way from the squared difference (two passes, as
InstanceNormalization computes it); then one per-channel multiplier. Every op keeps the map NHWC.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, prune_dead_nodes, replace_node
from torch2tf.conversion.rewrites.registry import SPEED, Rewrite


def flatten_group_norms(model: Any, index: GraphIndex | None = None) -> str:
    norms = [n for n in model.graph.node if n.op_type == "InstanceNormalization"]
    opset = default_opset(model)
    if not norms or opset < 13:  # ReduceMean takes attribute axes before 18; Conv/Sqrt/Div are all we need
        return ""
    index = index or GraphIndex(model)
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced = 0
    for norm in norms:
        match = _match(index, consumers, norm)
        if match is None:
            continue
        x, after, channels, groups = match
        replace_node(model.graph, after, _four_d_steps(index, norm, x, after.output[0], channels, groups, opset))
        replaced += 1
    if replaced:
        prune_dead_nodes(model.graph)
    return f"group norm: {replaced} Reshape/InstanceNormalization/Reshape group norm(s) kept 4-D" if replaced else ""


def _match(index: GraphIndex, consumers: dict, norm: Any):
    """(x, the Reshape back, C, G) when ``norm`` normalizes x (N, C, H, W) reshaped to (N, G, -1) and the
    only reader of its result reshapes it back to x's shape."""
    before = index.producer(norm.input[0])
    readers = consumers.get(norm.output[0], [])
    if before is None or before.op_type != "Reshape" or len(readers) != 1 or readers[0].op_type != "Reshape":
        return None
    after, x = readers[0], before.input[0]
    shape, target = index.shape(x), index.constant(before.input[1])
    if shape is None or len(shape) != 4 or shape[1] is None or target is None or target.shape != (3,):
        return None
    channels, groups = int(shape[1]), int(target[1])
    back = index.producer(after.input[1])
    # the whole shape: Shape without attributes, or with start 0 and no end (the dynamo exporter's, dynamic axes)
    whole = back is not None and all(a.name == "start" and a.i == 0 for a in back.attribute)
    same_shape = (whole and back.op_type == "Shape" and back.input[0] == x) or \
        (index.constant(after.input[1]) is not None and list(index.constant(after.input[1])) == shape)
    if not same_shape or int(target[0]) not in (0, -1) or int(target[2]) != -1 or groups < 1 or channels % groups:
        return None
    if any(index.constant(i) is None or index.constant(i).size != groups for i in norm.input[1:3]):
        return None
    return x, after, channels, groups


def _four_d_steps(index: GraphIndex, norm: Any, x: str, out: str, channels: int, groups: int, opset: int) -> list:
    from onnx import helper

    name = norm.name or out
    attrs = {a.name: helper.get_attribute_value(a) for a in norm.attribute}
    per_group = channels // groups
    average = np.kron(np.eye(groups), np.full((per_group, per_group), 1.0 / per_group)).astype(np.float32)
    average = index.add_constant(f"{name}_t2tf_group_average", average.reshape(channels, channels, 1, 1))
    scale = np.repeat(np.asarray(index.constant(norm.input[1]), dtype=np.float32), per_group).reshape(1, channels, 1, 1)
    bias = np.repeat(np.asarray(index.constant(norm.input[2]), dtype=np.float32), per_group).reshape(1, channels, 1, 1)
    scale_name = index.add_constant(f"{name}_t2tf_scale", scale)
    bias_name = index.add_constant(f"{name}_t2tf_bias", bias)
    eps = index.add_constant(f"{name}_t2tf_eps", np.array(attrs.get("epsilon", 1e-5), dtype=np.float32))
    t = f"{out}_t2tf"
    steps = _spatial_mean(index, x, f"{t}_channel_mean", opset, name)
    steps += [helper.make_node("Conv", [f"{t}_channel_mean", average], [f"{t}_mean"], name=f"{name}_t2tf_group_mean"),
              helper.make_node("Sub", [x, f"{t}_mean"], [f"{t}_centred"], name=f"{name}_t2tf_centre"),
              helper.make_node("Mul", [f"{t}_centred", f"{t}_centred"], [f"{t}_squared"], name=f"{name}_t2tf_square")]
    steps += _spatial_mean(index, f"{t}_squared", f"{t}_channel_var", opset, name)
    steps += [helper.make_node("Conv", [f"{t}_channel_var", average], [f"{t}_var"], name=f"{name}_t2tf_group_var"),
              helper.make_node("Add", [f"{t}_var", eps], [f"{t}_var_eps"], name=f"{name}_t2tf_eps"),
              helper.make_node("Sqrt", [f"{t}_var_eps"], [f"{t}_std"], name=f"{name}_t2tf_std"),
              helper.make_node("Div", [scale_name, f"{t}_std"], [f"{t}_multiplier"], name=f"{name}_t2tf_multiplier"),
              helper.make_node("Mul", [f"{t}_centred", f"{t}_multiplier"], [f"{t}_scaled"], name=f"{name}_t2tf_scale"),
              helper.make_node("Add", [f"{t}_scaled", bias_name], [out], name=f"{name}_t2tf_bias")]
    return steps


def _spatial_mean(index: GraphIndex, data: str, out: str, opset: int, name: str) -> list:
    from onnx import helper

    if opset >= 18:
        axes = index.add_constant("t2tf_spatial_axes", np.array([2, 3], dtype=np.int64))
        return [helper.make_node("ReduceMean", [data, axes], [out], keepdims=1, name=f"{name}_{out}")]
    return [helper.make_node("ReduceMean", [data], [out], axes=[2, 3], keepdims=1, name=f"{name}_{out}")]


REWRITES = (Rewrite('group_norm', SPEED, flatten_group_norms),)
