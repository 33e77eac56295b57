"""What ``convert-many`` leaves in OUTDIR besides the models: summary.json, summary.md and junit.xml.

Each is written whole or not at all (a temp file renamed into place), also when the run was
interrupted: then the models that never finished are listed as ``not run``.
"""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.fanout.tasks import ModelResult
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
                  ) -> dict[str, Any]:
    """summary.json, summary.md and junit.xml in ``outdir``; returns the summary document."""
    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in ("passed", "limitation", "failed")}
    counts["not run"] = len(not_run)
    document = {"schema_version": 1, "passed": counts["passed"] == len(results) + len(not_run), "counts": counts,
                **meta, "models": [r.to_json() for r in results] + [_not_run(name, model) for name, model in not_run]}
    write_atomically(outdir / "summary.json", json.dumps(document, indent=2) + "\n")
    write_atomically(outdir / "summary.md", render_markdown(document))
    write_atomically(outdir / "junit.xml", render_junit(document))
    return document


def _not_run(name: str, model: str) -> dict[str, Any]:
    return {"name": name, "model": model, "verdict": "not run", "reason": "the run was interrupted first"}


def render_markdown(document: dict[str, Any]) -> str:
    counts = document["counts"]
    tally = (f"{counts['limitation']} limitation(s), {counts['failed']} failed, {counts['not run']} not run · "
             f"engine: {document.get('engine', '?')} · {document.get('seconds', 0):.0f} s")
    lines = [f"# torch2tf convert-many: {counts['passed']} of {len(document['models'])} passed", "", tally, "",
             "| model | verdict | time | reason |", "|---|---|---|---|"]
    for model in document["models"]:
        reason = str(model.get("reason", "")).replace("|", "\\|")
        where = f" ([report]({model['name']}/report.md))" if model.get("output") else ""
        lines.append(f"| `{model['name']}` | {MARKS[model['verdict']]} {model['verdict']} | "
                     f"{model.get('seconds', 0):.1f}s | {reason}{where} |")
    return "\n".join(lines) + "\n"


def render_junit(document: dict[str, Any]) -> str:
    """One testcase per model; a limitation is a failure of its own type, so JUnit agrees with the exit code."""
    models = document["models"]
    suite = ET.Element("testsuite", name="torch2tf-convert-many", tests=str(len(models)),
                       failures=str(len(models) - document["counts"]["passed"]),
                       time=f"{document.get('seconds', 0):.1f}")
    for model in models:
        case = ET.SubElement(suite, "testcase", classname="convert-many", name=model["name"],
                             time=f"{model.get('seconds', 0):.1f}")
        if model["verdict"] != "passed":
            failure = ET.SubElement(case, "failure", type=model["verdict"].replace(" ", "-"),
                                    message=model.get("reason", ""))
            failure.text = f"{model['model']}: {model.get('reason', '')}"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
