"""What ``convert-many`` leaves in OUTDIR besides the models: summary.json, summary.md and junit.xml.

Each is written whole or not at all (a temp file renamed into place), also when the run was
interrupted: then the models that never finished are listed as ``not run``.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.records import ModelResult, Summary, dumps
from torch2tf.workspace import write_atomically

MARKS = {"passed": "✓", "limitation": "◐", "failed": "✗", "not run": "·"}


@dataclass
class Progress:
    """Counts and an ETA for the per-model lines."""

    total: int
    jobs: int
    started: float = field(default_factory=time.monotonic)
    finished: list[ModelResult] = field(default_factory=list)

    def add(self, result: ModelResult) -> str:
        self.finished.append(result)
        done = len(self.finished)
        line = (f"[{done}/{self.total}] {MARKS[result.verdict]} {result.name}: {result.verdict} in "
                f"{result.seconds:.1f}s — {result.reason}")
        left = self.total - done
        if left:
            line += f" · {left} left, ETA {_clock(self.eta())}"
        return line

    def eta(self) -> float:
        """Seconds until the rest is done: mean time per model so far × rounds of ``jobs`` still to run."""
        mean = sum(r.seconds for r in self.finished) / max(len(self.finished), 1)
        left = self.total - len(self.finished)
        return mean * -(-left // max(self.jobs, 1))

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


def write_summary(outdir: Path, results: list[ModelResult], not_run: list[tuple[str, str]], meta: dict[str, Any]
                  ) -> Summary:
    """summary.json, summary.md and junit.xml in ``outdir``; returns the summary."""
    models = tuple(results) + tuple(ModelResult(name, model, "not run", "the run was interrupted first")
                                    for name, model in not_run)
    summary = Summary(models, **meta)
    write_atomically(outdir / "summary.json", dumps(summary.to_json()))
    write_atomically(outdir / "summary.md", render_markdown(summary))
    write_atomically(outdir / "junit.xml", render_junit(summary))
    return summary


def render_markdown(summary: Summary) -> str:
    counts = summary.counts
    tally = (f"{counts.limitation} limitation(s), {counts.failed} failed, {counts.not_run} not run · "
             f"engine: {summary.engine} · {summary.seconds:.0f} s")
    lines = [f"# torch2tf convert-many: {counts.passed} of {len(summary.models)} passed", "", tally, "",
             "| model | verdict | time | reason |", "|---|---|---|---|"]
    for model in summary.models:
        reason = model.reason.replace("|", "\\|")
        where = f" ([report]({model.name}/report.md))" if model.output else ""
        lines.append(f"| `{model.name}` | {MARKS[model.verdict]} {model.verdict} | {model.seconds:.1f}s | "
                     f"{reason}{where} |")
    return "\n".join(lines) + "\n"


def render_junit(summary: Summary) -> str:
    """One testcase per model; a limitation is a failure of its own type, so JUnit agrees with the exit code."""
    models = summary.models
    suite = ET.Element("testsuite", name="torch2tf-convert-many", tests=str(len(models)),
                       failures=str(len(models) - summary.counts.passed), time=f"{summary.seconds:.1f}")
    for model in models:
        case = ET.SubElement(suite, "testcase", classname="convert-many", name=model.name,
                             time=f"{model.seconds:.1f}")
        if model.verdict != "passed":
            failure = ET.SubElement(case, "failure", type=model.verdict.replace(" ", "-"), message=model.reason)
            failure.text = f"{model.model}: {model.reason}"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
