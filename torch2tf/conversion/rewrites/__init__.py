"""ONNX graph rewrites applied before onnx2tf: fixes of onnx2tf bugs, speed-ups, int8-only rewrites.

They change only the copy handed to onnx2tf; onnxruntime keeps running the exported model, so
the parity check also proves each rewrite preserved what the graph computes. Which rewrites run, and
in what order, is the registry's (``registry.py``): each rewrite's module declares its record.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch2tf.conversion.rewrites.graph import GraphIndex
from torch2tf.conversion.rewrites.registry import FLOAT, FULL_INTEGER, Rewrite, rewrites_for
from torch2tf.records import RewriteNote


def int8_rewrites(keep_input_layout: bool) -> tuple[Rewrite, ...]:
    """The int8 graph's own rewrites for a strategy (``keep_input_layout``: the strategy keeps [N, C, H, W])."""
    return rewrites_for(FULL_INTEGER, keep_input_layout)


def apply_rewrites(path: Path, rewrites: tuple[Rewrite, ...] | None = None) -> list[RewriteNote]:
    """Rewrite the ONNX file at ``path`` in place (``rewrites``: the float graph's, by default); one note
    per rewrite that changed something."""
    import onnx

    model = onnx.load(str(path))
    notes = run_rewrites(model, rewrites_for(FLOAT) if rewrites is None else rewrites)
    if notes:
        data = path.with_name(path.name + ".data")
        external = data.exists()
        data.unlink(missing_ok=True)
        onnx.save(model, str(path), save_as_external_data=external, location=data.name if external else None)
    return notes


def run_rewrites(model: Any, rewrites: tuple[Rewrite, ...]) -> list[RewriteNote]:
    """Each rewrite on ``model`` in turn, sharing one graph index: shape inference runs again only after
    a rewrite changed the graph."""
    notes, index, shape = [], None, None
    for rewrite in rewrites:
        now = _structure(model)
        if index is None or now != shape:
            index, shape = GraphIndex(model), now
        note = rewrite.apply(model, index=index)
        if note:
            notes.append(RewriteNote(rewrite.name, rewrite.purpose, note))
            index = None
    return notes


def _structure(model: Any) -> tuple:
    """What the index depends on, cheaply: the nodes' wiring and the initializers' names."""
    graph = model.graph
    return (tuple((n.op_type, tuple(n.input), tuple(n.output)) for n in graph.node),
            tuple(i.name for i in graph.initializer), tuple(i.name for i in graph.input))
