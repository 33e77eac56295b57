"""The graph inputs' dims as the user's --input gives them, written into the ONNX file itself.

A file exported elsewhere often declares its inputs ``[-1, 3, ?, ?]`` (or ``["batch", 3, "height",
"width"]``). onnxruntime runs it at any size, but onnx2tf sizes its tensors from the graph, and a
given ``--input x:Nx3x48x192`` that only overrode our own record of the inputs left onnx2tf with
unknown heights and widths inside ("Dimension -1 must be >= 0"). Here every dim the spec fixes is set
in the file (the stale inferred shapes dropped, so every later shape inference starts from them);
dims the spec leaves dynamic (the batch, a named ``{seq}``) stay as they were.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def set_input_dims(model: Any, shapes: dict[str, list[int | None]]) -> list[str]:
    """Set ``model``'s graph inputs to ``shapes`` (None leaves a dim); the inputs changed, as ``name: old → new``."""
    changed = []
    for value in model.graph.input:
        dims = list(value.type.tensor_type.shape.dim)
        wanted = shapes.get(value.name)
        if wanted is None or len(wanted) != len(dims):
            continue
        before = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        for dim, size in zip(dims, wanted):
            if size is not None and not (dim.HasField("dim_value") and dim.dim_value == size):
                dim.Clear()
                dim.dim_value = size
        after = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        if after != before:
            changed.append(f"{value.name}: {'x'.join(map(str, before))} → {'x'.join(map(str, after))}")
    if changed:
        del model.graph.value_info[:]  # inferred for the old dims
    return changed


def fix_input_dims(path: Path, shapes: dict[str, list[int | None]]) -> list[str]:
    """``set_input_dims`` on the file at ``path`` (its external weights untouched). A strategy's graph also loses
    its inferred shapes when no dim changed: onnxsim and onnx2tf infer every graph they get from its inputs."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    changed = set_input_dims(model, shapes)
    del model.graph.value_info[:]
    onnx.save(model, str(path))
    return changed
