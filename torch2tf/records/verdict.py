"""A command's failure as JSON (``--json``), and convert-many's verdicts: one per model, and the summary."""
from __future__ import annotations

import json
from typing import Any

from torch2tf.errors import Torch2TFError
from torch2tf.records.base import record
from torch2tf.records.report import Report

VERDICTS = ("passed", "limitation", "failed", "not run")


@record
class ErrorRecord:
    """A Torch2TFError as the CLI prints it; ``kind`` says what it means (``errors.Torch2TFError.kind``)."""

    type: str
    kind: str  # usage | model | limitation | artifact | endpoint | failed
    message: str
    hint: str | None = None
    stage: str | None = None
    exit_code: int = 1
    details: tuple[str, ...] = ()

    @classmethod
    def of(cls, exc: Torch2TFError) -> ErrorRecord:
        return cls(type(exc).__name__, exc.kind, exc.message, exc.hint, exc.stage, exc.exit_code, tuple(exc.details))


@record
class FailedRun:
    """What ``--json`` prints when a command ends on an error."""

    error: ErrorRecord
    passed: bool = False


def parse_answer(text: str) -> Report | FailedRun | None:
    """A convert ``--json`` document: its report, its error, or None when it printed neither."""
    try:
        document: Any = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    try:
        return FailedRun.from_json(document) if "error" in document else Report.from_json(document)
    except ValueError:
        return None


@record
class ModelResult:
    """convert-many's verdict on one model: passed (exit 0), limitation (exit 1, a named toolchain limit),
    failed (parity, the model's own code, a bad option, a crash, a timeout) or not run."""

    name: str
    model: str
    verdict: str
    reason: str  # one line
    seconds: float = 0.0
    exit_code: int | None = None
    output: str | None = None  # the convert output directory, when one was written
    host: str = ""


@record
class Counts:
    passed: int = 0
    limitation: int = 0
    failed: int = 0
    not_run: int = 0

    @classmethod
    def of(cls, models: tuple[ModelResult, ...]) -> Counts:
        return cls(*(sum(m.verdict == verdict for m in models) for verdict in VERDICTS))

    def to_json(self) -> dict[str, int]:
        return {"passed": self.passed, "limitation": self.limitation, "failed": self.failed, "not run": self.not_run}


@record
class Summary:
    """convert-many's summary.json."""

    models: tuple[ModelResult, ...]
    manifest: str = ""
    engine: str = "?"
    jobs: int = 1
    started: str = ""
    seconds: float = 0.0
    schema_version: int = 1

    @property
    def counts(self) -> Counts:
        return Counts.of(self.models)

    @property
    def passed(self) -> bool:
        return self.counts.passed == len(self.models)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "passed": self.passed, "counts": self.counts.to_json(),
                "manifest": self.manifest, "engine": self.engine, "jobs": self.jobs, "started": self.started,
                "seconds": self.seconds, "models": [m.to_json() for m in self.models]}
