"""report.json (schema_version 1; extended, never broken): the model, reading it, and the one writer.

Every command that changes a report (convert, validate, bench, smoke) writes it through
``write_report``: report.json and report.md replaced together, atomically, numbers serialized the
same way.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.artifacts import refresh_manifest_entries
from torch2tf.cache import package_versions
from torch2tf.errors import UsageError
from torch2tf.validate.markdown import render_markdown
from torch2tf.workspace import owned_dir

SCHEMA_VERSION = 1
VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "tensorflow", "onnx2tf", "torch2tf")
REPORT_FILES = ("report.json", "report.md")


def tool_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (no heavy import)."""
    return package_versions(VERSIONED_PACKAGES)


def report_passed(stages: list[dict], parity: list[dict], regressions: list[dict],
                  uninformative: list[dict] = (), strict: bool = False) -> bool:
    """The verdict: no failed stage, some parity checked, every gating target within tolerance.

    Every artifact asked for is judged: one that did not run or could not be checked fails the run.
    Quantized variants below their preset gate only when asked (--strict-quant); an output whose
    reference does not vary (parity uninformative) fails only with --strict.
    """
    stages_ok = all(s["status"] != "failed" for s in stages)
    judged = all(p["passed"] for p in parity if p.get("gating", True) or not p.get("outputs"))
    return stages_ok and bool(parity) and judged and not regressions and not (strict and uninformative)


def report_dict_passed(report: dict[str, Any]) -> bool:
    """The verdict of a report.json read back (smoke and validate edit reports they did not write)."""
    return report_passed(report.get("stages", []), report.get("parity", []), report.get("regressions", []),
                         report.get("uninformative", []), bool(report.get("strict")))


@dataclass
class Report:
    model: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    operators: list[dict[str, Any]] = field(default_factory=list)
    parity: list[dict[str, Any]] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)
    conversion: dict[str, Any] = field(default_factory=dict)
    localization: dict[str, Any] | None = None
    regressions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=tool_versions)
    uninformative: list[dict[str, Any]] = field(default_factory=list)  # outputs whose reference does not vary
    strict: bool = False  # --strict: uninformative parity fails the run
    carried: dict[str, Any] = field(default_factory=dict)  # sections kept from an earlier report (bench, profile)

    @property
    def passed(self) -> bool:
        return report_passed(self.stages, self.parity, self.regressions, self.uninformative, self.strict)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "passed": self.passed, "model": self.model,
                "inputs": self.inputs, "outputs": self.outputs, "stages": self.stages,
                "operators": self.operators, "parity": self.parity, "export": self.export,
                "conversion": self.conversion, "localization": self.localization,
                "regressions": self.regressions, "notes": self.notes, "versions": self.versions,
                "uninformative": self.uninformative, "strict": self.strict, **self.carried}


def read_report(path: Path) -> dict[str, Any]:
    """A report.json of this schema; UsageError when missing, not JSON or of another schema."""
    if not path.is_file():
        raise UsageError(f"report not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise UsageError(f"{path} has schema_version {version!r}; this torch2tf reads {SCHEMA_VERSION}")
    return data


def write_report(directory: Path, report: dict[str, Any]) -> None:
    """Replace report.json and report.md in ``directory`` together (staged, then renamed)."""
    with owned_dir(directory, ".report-") as staging:
        (staging / "report.json").write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
        (staging / "report.md").write_text(render_markdown(report))
        for name in REPORT_FILES:
            os.replace(staging / name, directory / name)


def update_report(directory: Path, report: dict[str, Any], manifest: dict | None = None) -> None:
    """Rewrite the report of a finished output directory; only the report entries of its manifest change."""
    write_report(directory, report)
    refresh_manifest_entries(directory, REPORT_FILES, manifest)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
