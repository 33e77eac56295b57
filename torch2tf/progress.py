"""What a long step is doing right now, for a progress line that would otherwise wait in silence.

A step that runs for seconds inside a stage (onnx2tf in its child process) registers a function that
describes it ("onnx2tf: 143/321 nodes"); the CLI's progress ticker asks for it a few times a second.
Nothing here prints, and a description that cannot be made is an empty one: a progress hint never
breaks a run.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

_current: Callable[[], str] | None = None


@contextlib.contextmanager
def activity(describe: Callable[[], str]) -> Iterator[None]:
    global _current
    previous, _current = _current, describe
    try:
        yield
    finally:
        _current = previous


def current_activity() -> str:
    describe = _current
    if describe is None:
        return ""
    try:
        return describe()
    except (OSError, ValueError):  # a log being written, rotated or removed under the reader
        return ""
