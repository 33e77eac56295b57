"""Python warnings that the model's code and the libraries raise during a conversion (torch's nested-tensor
notice, the exporters' deprecations): kept off the progress lines, and in the report's notes."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

MAX_NOTES = 8  # distinct warnings kept; the rest are counted
NOTE_CHARS = 240


@contextlib.contextmanager
def kept_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record every warning raised inside (each distinct one once), instead of printing it on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield caught


def warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """One note per distinct warning: "warning from torch (UserWarning): …"."""
    distinct = list(dict.fromkeys(f"warning from {_source(w.filename)} ({w.category.__name__}): "
                                  f"{' '.join(str(w.message).split())}"[:NOTE_CHARS] for w in caught))
    more = len(distinct) - MAX_NOTES
    return distinct[:MAX_NOTES] + ([f"{more} more warnings from libraries"] if more > 0 else [])


def _source(filename: str) -> str:
    """The package a warning came from (torch, onnxscript, …), or its file's name outside site-packages."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return Path(parts[parts.index(marker) + 1]).stem
    return Path(filename).name
