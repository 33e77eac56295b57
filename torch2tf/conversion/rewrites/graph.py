"""What rewrites ask of an ONNX graph: producers, constant values, inferred ranks, where a size comes from."""
from __future__ import annotations

from typing import Any

import numpy as np

SHAPE_PRESERVING = {"Cast", "Identity", "Not"}


def default_opset(model: Any, missing: int = 0) -> int:
    """The graph's version of the default ONNX domain (``missing`` when it imports none)."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), missing)


class GraphIndex:
    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper, shape_inference

        self.graph = model.graph
        self._producers = {o: n for n in self.graph.node for o in n.output}
        self._constants = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer
                           if i.data_location != i.EXTERNAL}
        for node in self.graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self._constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        inferred = shape_inference.infer_shapes(model).graph
        self._shapes = {}
        for value in list(inferred.input) + list(inferred.value_info) + list(inferred.output):
            if value.type.tensor_type.HasField("shape"):
                self._shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None
                                            for d in value.type.tensor_type.shape.dim]
        for name, array in self._constants.items():
            self._shapes[name] = list(array.shape)

    def producer(self, name: str) -> Any:
        return self._producers.get(name)

    def constant(self, name: str) -> np.ndarray | None:
        return self._constants.get(name)

    def shape(self, name: str) -> list[int | None] | None:
        """Inferred dims (None where dynamic), or None when shape inference knows nothing."""
        shape = self._shapes.get(name)
        return None if shape is None else list(shape)

    def rank(self, name: str) -> int | None:
        shape = self._shapes.get(name)
        return None if shape is None else len(shape)

    def length(self, name: str) -> int | None:
        """The static length of a 1-D tensor (a shape tensor's rank)."""
        shape = self._shapes.get(name)
        return shape[0] if shape and len(shape) == 1 else None

    def root(self, name: str) -> str:
        """The tensor ``name`` is a cast or copy of (same shape)."""
        node = self._producers.get(name)
        while node is not None and node.op_type in SHAPE_PRESERVING:
            name = node.input[0]
            node = self._producers.get(name)
        return name

    def dim_source(self, name: str) -> tuple[str, int] | None:
        """(tensor, axis) when the scalar ``name`` is that tensor's size along that axis."""
        node = self._producers.get(name)
        if node is not None and node.op_type in ("Squeeze", "Reshape"):
            node = self._producers.get(node.input[0])
        if node is None:
            return None
        if node.op_type == "Shape":
            attrs = {a.name: a.i for a in node.attribute}
            start = attrs.get("start", 0)
            if attrs.get("end") == start + 1:
                return node.input[0], start
            return None
        if node.op_type == "Gather":
            shape, index = self._producers.get(node.input[0]), self._constants.get(node.input[1])
            if shape is not None and shape.op_type == "Shape" and not shape.attribute and index is not None \
                    and index.size == 1:
                return shape.input[0], int(index.item())
        return None

    def covers_axis(self, data: str, axis: int, component: Any) -> bool:
        """Does an arange of ``component.length`` span all of ``data``'s axis (no slice needed)?"""
        shape = self._shapes.get(data)
        if isinstance(component.length, int):
            return shape is not None and shape[axis] == component.length
        source = component.length_dim
        if source is None:
            return False
        tensor, source_axis = source
        return self.root(tensor) == self.root(data) and source_axis == axis

    def add_constant(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        if name not in self._constants:
            self.graph.initializer.append(numpy_helper.from_array(array, name))
            self._constants[name] = array
        return name


def replace_node(graph: Any, node: Any, replacement: list) -> None:
    """Put ``replacement`` where ``node`` stood (the graph stays in topological order)."""
    position = list(graph.node).index(node)
    graph.node.remove(node)
    for offset, new in enumerate(replacement):
        graph.node.insert(position + offset, new)


def prune_dead_nodes(graph: Any) -> int:
    """Remove nodes none of whose outputs is used (repeatedly), then unused initializers; return nodes removed."""
    removed = 0
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
        removed += len(dead)
    inputs = {i.name for i in graph.input}
    for initializer in [i for i in graph.initializer if i.name not in used and i.name not in inputs]:
        graph.initializer.remove(initializer)
    return removed
