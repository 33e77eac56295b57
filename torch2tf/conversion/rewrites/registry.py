"""The rewrite registry: one record per rewrite, the order derived from what each declares.

A rewrite is a module in ``fixes/`` (an onnx2tf bug worked around), ``speed/`` (a faster TFLite file)
or ``int8/`` (the full-integer file only) that declares ``REWRITES``: its records. The registry finds
them by walking those folders, so adding a rewrite is one module and one record. Each record names
the rewrites it must run after (and why, in its module's docstring); the order is the topological
order of those declarations, ties broken by name, and a test asserts it.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from torch2tf.errors import InternalError

FIX, SPEED, INT8 = "onnx2tf fix", "speed", "int8"
PURPOSE_FOLDERS = ("fixes", "speed", "int8")
FLOAT, FULL_INTEGER = "float", "int8"  # the graph a rewrite runs on: every conversion's, or the int8 one's


@dataclass(frozen=True)
class Rewrite:
    name: str
    purpose: str  # FIX | SPEED | INT8
    apply: Callable[..., str]  # (model, index=GraphIndex) → a note when it changed the graph, else ""
    after: tuple[str, ...] = ()  # rewrites of the same graph that must run first
    graph: str = FLOAT  # FLOAT: the graph every conversion hands onnx2tf; FULL_INTEGER: the int8 one's
    keeps_input_layout: bool = True  # False: not for strategies that keep the input's [N, C, H, W] layout

    def applies(self, graph: str, keep_input_layout: bool) -> bool:
        return self.graph == graph and (self.keeps_input_layout or not keep_input_layout)


@cache
def registered() -> tuple[Rewrite, ...]:
    """Every record the purpose folders declare."""
    found = []
    package = importlib.import_module(__package__)
    for folder in PURPOSE_FOLDERS:
        sub = importlib.import_module(f"{package.__name__}.{folder}")
        for info in pkgutil.iter_modules(sub.__path__):
            found += getattr(importlib.import_module(f"{sub.__name__}.{info.name}"), "REWRITES", ())
    names = [r.name for r in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InternalError(f"rewrites registered twice: {', '.join(duplicated)}")
    return tuple(found)


def ordered(rewrites: tuple[Rewrite, ...]) -> tuple[Rewrite, ...]:
    """The rewrites in an order that honours every ``after`` (among those given), ties broken by name."""
    by_name = {r.name: r for r in rewrites}
    known = {r.name for r in registered()} | set(by_name)
    for rewrite in rewrites:
        unknown = [a for a in rewrite.after if a not in known]
        if unknown:
            raise InternalError(f"rewrite {rewrite.name} runs after unknown rewrites: {', '.join(unknown)}")
    waiting = {r.name: {a for a in r.after if a in by_name} for r in rewrites}
    order: list[Rewrite] = []
    while waiting:
        ready = sorted(name for name, deps in waiting.items() if not deps)
        if not ready:
            raise InternalError(f"rewrites wait on each other: {', '.join(sorted(waiting))}")
        order.append(by_name[ready[0]])
        del waiting[ready[0]]
        for deps in waiting.values():
            deps.discard(ready[0])
    return tuple(order)


def rewrites_for(graph: str = FLOAT, keep_input_layout: bool = False) -> tuple[Rewrite, ...]:
    return ordered(tuple(r for r in registered() if r.applies(graph, keep_input_layout)))
