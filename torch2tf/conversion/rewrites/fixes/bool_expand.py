"""Expand a boolean tensor through int32.

onnx2tf 1.28.8's Expand multiplies by ``tf.ones``; its bool special case covers only the plain
path, and the path that re-validates a broadcast (taken for attention masks with a dynamic batch)
multiplies a bool tensor ("DataType bool not in list of allowed values"). Expanding the int32 copy
and casting the result back computes the same tensor. A constant input gets an int32 constant
rather than a Cast node: onnx2tf validates an Expand of a computed constant by building a Keras
model whose output is that constant, which Keras refuses ("Output tensors of a Functional model
must be the output of a TensorFlow `Layer`"); a constant it reads as an array it does not validate.
"""
from __future__ import annotations

from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite


def expand_bools_as_int(model: Any, index: GraphIndex | None = None) -> str:
    import numpy as np
    from onnx import TensorProto, helper, shape_inference

    inferred = shape_inference.infer_shapes(model).graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(inferred.input) + list(inferred.value_info)}
    types.update({i.name: i.data_type for i in model.graph.initializer})
    graph, index = model.graph, index or GraphIndex(model)
    changed = 0
    for node in [n for n in graph.node if n.op_type == "Expand" and types.get(n.input[0]) == TensorProto.BOOL]:
        prefix = f"{node.name or 'expand'}_t2tf_{changed}"
        output, position = node.output[0], list(graph.node).index(node)
        constant = index.constant(node.input[0])
        if constant is not None:
            node.input[0] = index.add_constant(f"{prefix}_int", constant.astype(np.int32))
        else:
            graph.node.insert(position, helper.make_node("Cast", [node.input[0]], [f"{prefix}_int"],
                                                         to=TensorProto.INT32))
            node.input[0] = f"{prefix}_int"
            position += 1
        node.output[0] = f"{prefix}_expanded"
        graph.node.insert(position + 1, helper.make_node("Cast", [f"{prefix}_expanded"], [output], to=TensorProto.BOOL))
        changed += 1
    return f"bool_expand: expanded {changed} boolean tensor(s) through int32" if changed else ""


# after the Expands others write or remove: index_grid's (on boolean masks), the ones elision leaves
REWRITES = (Rewrite("bool_expand", FIX, expand_bools_as_int,
                    after=("expand_elision", "index_grid", "broadcast_concat")),)
