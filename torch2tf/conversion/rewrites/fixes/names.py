"""Graph input and output names TensorFlow cannot take → the names the SavedModel signature uses.

A tf.function parameter must be an identifier, so ``gpu_0/data_0`` (Caffe2), ``input:0`` (TF-born
exports), ``0`` or ``input.1`` (early PyTorch) and names with spaces are renamed by TensorFlow, by
onnx2tf (``input:0`` → ``input__0``) and sometimes not at all (a space makes onnx2tf skip the
SavedModel without a word). Renaming them in the copy handed to onnx2tf, with the same rule the
serving signature uses (``specs.signature_keys``), gives onnx2tf clean names and makes the mapping
known rather than guessed. onnxruntime keeps the original names; manifest.json records the mapping.
"""
from __future__ import annotations

from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FIX, Rewrite
from torch2tf.conversion.signature import signature_keys


def rename_for_tensorflow(model: Any, index: GraphIndex | None = None) -> str:
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [v.name for v in graph.input if v.name not in initializers]
    renames = {}
    for names in (inputs, [v.name for v in graph.output]):
        renames.update({old: new for old, new in signature_keys(names).items() if old != new})
    if not renames:
        return ""
    taken = _tensor_names(graph) - set(renames)
    for clash in sorted(set(renames.values()) & taken):  # an inner tensor already has the new name: move it aside
        renames[clash] = _free_name(clash, taken | set(renames.values()))
    _rename(graph, renames)
    shown = ", ".join(f"{old} → {new}" for old, new in list(renames.items())[:3])
    return f"renamed {len(renames)} graph input/output name(s) TensorFlow cannot take ({shown})"


def _tensor_names(graph: Any) -> set[str]:
    names = {v.name for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    names |= {i.name for i in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names - {""}


def _free_name(base: str, taken: set[str]) -> str:
    n = 1
    while f"{base}__{n}" in taken:
        n += 1
    return f"{base}__{n}"


def _rename(graph: Any, renames: dict[str, str]) -> None:
    """Rename tensors everywhere they appear, subgraphs (If, Loop, Scan bodies) included."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = renames.get(value.name, value.name)
    for initializer in graph.initializer:
        initializer.name = renames.get(initializer.name, initializer.name)
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs] if attribute.HasField("g") else attribute.graphs:
                _rename(subgraph, renames)


REWRITES = (Rewrite('names', FIX, rename_for_tensorflow),)
