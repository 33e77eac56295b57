"""HardSwish (full-integer int8 file only) and HardSigmoid (every file) spelled out as Add, Clip(0, 6) and Mul.

The TFLite converter turns them into HARD_SWISH and (after a rescale) RELU_0_TO_1. XNNPACK takes
neither in int8 (and not RELU_0_TO_1 in float), so they run on LiteRT's own int8 kernels and cut the
graph into XNNPACK partitions. Spelled out (hardsigmoid(x) = relu6(x·α·6 + β·6) / 6, hardswish(x) =
(x / 6) · relu6(x + 3) — in that order: the converter fuses x · relu6(x + 3) / 6 back into HARD_SWISH)
every piece is an op XNNPACK runs in int8. Float files keep HARD_SWISH, which XNNPACK runs fastest
there; their HardSigmoids are spelled out too (the converter folds x·α·6 + β·6 into the convolution
before it and the Clip into its RELU6). README "Speed edits: the measurements behind them" has the
figures.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from torch2tf.conversion.rewrites.graph import GraphIndex, default_opset, replace_node
from torch2tf.conversion.rewrites.registry import FULL_INTEGER, INT8, SPEED, Rewrite


def spell_out_hard_sigmoids(model: Any, index: GraphIndex | None = None) -> str:
    """Every file: RELU_0_TO_1, which HardSigmoid becomes, runs outside XNNPACK in float too."""
    return spell_out_hard_activations(model, ("HardSigmoid",), label="hard activations", index=index)


def spell_out_hard_activations(model: Any, op_types: tuple[str, ...] = ("HardSwish", "HardSigmoid"),
                               label: str = "hard activations (int8)", index: GraphIndex | None = None) -> str:
    from onnx import helper

    nodes = [n for n in model.graph.node if n.op_type in op_types]
    opset = default_opset(model)
    if not nodes or opset < 11:  # Clip takes its bounds as inputs from opset 11
        return ""
    index = index or GraphIndex(model)
    zero = index.add_constant("t2tf_hard_zero", np.array(0.0, dtype=np.float32))
    six = index.add_constant("t2tf_hard_six", np.array(6.0, dtype=np.float32))
    sixth = index.add_constant("t2tf_hard_sixth", np.array(1.0 / 6.0, dtype=np.float32))
    for node in nodes:
        x, out, name = node.input[0], node.output[0], node.name or node.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        steps = []
        if node.op_type == "HardSwish":
            shifted = index.add_constant(f"{name}_t2tf_three", np.array(3.0, dtype=np.float32))
            steps.append(helper.make_node("Add", [x, shifted], [f"{out}_t2tf_shifted"], name=f"{name}_t2tf_add"))
        else:  # alpha·x + beta, scaled by 6 so that the clip is a RELU6
            alpha = index.add_constant(f"{name}_t2tf_alpha6", np.array(6.0 * attrs.get("alpha", 0.2), dtype=np.float32))
            beta = index.add_constant(f"{name}_t2tf_beta6", np.array(6.0 * attrs.get("beta", 0.5), dtype=np.float32))
            steps.append(helper.make_node("Mul", [x, alpha], [f"{out}_t2tf_scaled"], name=f"{name}_t2tf_scale"))
            steps.append(helper.make_node("Add", [f"{out}_t2tf_scaled", beta], [f"{out}_t2tf_shifted"],
                                          name=f"{name}_t2tf_add"))
        steps.append(helper.make_node("Clip", [f"{out}_t2tf_shifted", zero, six], [f"{out}_t2tf_relu6"],
                                      name=f"{name}_t2tf_relu6"))
        if node.op_type == "HardSwish":  # (x/6)·relu6(x + 3): x·relu6(x + 3)/6 is refused back into HARD_SWISH
            steps.append(helper.make_node("Mul", [x, sixth], [f"{out}_t2tf_sixth"], name=f"{name}_t2tf_sixth"))
            steps.append(helper.make_node("Mul", [f"{out}_t2tf_sixth", f"{out}_t2tf_relu6"], [out],
                                          name=f"{name}_t2tf_gate"))
        else:
            steps.append(helper.make_node("Mul", [f"{out}_t2tf_relu6", sixth], [out], name=f"{name}_t2tf_sixth"))
        replace_node(model.graph, node, steps)
    counts = {t: sum(1 for n in nodes if n.op_type == t) for t in ("HardSwish", "HardSigmoid")}
    return f"{label}: " + ", ".join(f"{c} {t}" for t, c in counts.items() if c) + \
        " spelled out as Add, Clip(0, 6), Mul"


# hard_sigmoids after nonnegative_pool: that one reads a HardSigmoid as a non-negative input
# hard_activations_int8: HardSwish and HardSigmoid both, on the int8 graph
REWRITES = (Rewrite('hard_sigmoids', SPEED, spell_out_hard_sigmoids, after=('nonnegative_pool',)),
            Rewrite('hard_activations_int8', INT8, spell_out_hard_activations, graph=FULL_INTEGER))
