"""report.json (schema_version 1) and report.md, the run's one honest answer."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "tensorflow", "onnx2tf", "torch2tf")


def tool_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (no heavy import)."""
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


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
    versions: dict[str, str] = field(default_factory=tool_versions)

    @property
    def passed(self) -> bool:
        stages_ok = all(s["status"] != "failed" for s in self.stages)
        return stages_ok and bool(self.parity) and all(p["passed"] for p in self.parity)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "passed": self.passed, "model": self.model,
                "inputs": self.inputs, "outputs": self.outputs, "stages": self.stages,
                "operators": self.operators, "parity": self.parity, "export": self.export,
                "conversion": self.conversion, "versions": self.versions}

    def write(self, directory: Path) -> None:
        (directory / "report.json").write_text(json.dumps(self.to_json(), indent=2, default=_json_default) + "\n")
        (directory / "report.md").write_text(render_markdown(self.to_json()))


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "inf"
    return f"{value:.2e}"


def render_markdown(report: dict[str, Any]) -> str:
    """A page a reviewer understands in ten seconds: verdict, parity table, then the details."""
    mark = "✅ PASSED" if report["passed"] else "❌ FAILED"
    failed = [f"{p['target']}/{o['name']}" for p in report["parity"] for o in p["outputs"] if not o["passed"]]
    lines = [f"# torch2tf report: {report['model']}", "",
             f"**{mark}** — {len(report['parity'])} artifacts compared against onnxruntime"
             + (f"; failing: {', '.join(failed)}" if failed else ""), ""]
    conversion = report.get("conversion", {})
    if conversion.get("strategy"):
        lines += [f"Exporter: `{report.get('export', {}).get('exporter', '?')}` · strategy: "
                  f"`{conversion['strategy']}` · serving signature batch: dynamic"
                  + (f" (onnx2tf batch fixed to {conversion['raw_batch']}, restored by mapping over rows)"
                     if conversion.get("raw_batch") else ""), ""]
    lines += ["## Parity", "", "| target | output | shape | max abs | max rel | mean abs | cosine | atol | |",
              "|---|---|---|---|---|---|---|---|---|"]
    for target in report["parity"]:
        for out in target["outputs"]:
            lines.append(f"| {target['target']} | {out['name']} | {'x'.join(map(str, out['shape']))} | "
                         f"{_fmt(out['max_abs'])} | {_fmt(out['max_rel'])} | {_fmt(out['mean_abs'])} | "
                         f"{out['cosine']:.6f} | {out['atol']:g} | {'✓' if out['passed'] else '✗ ' + out.get('note', '')} |")
    lines += ["", "Samples: " + ", ".join(sorted({s for p in report["parity"] for s in p.get("samples", [])})), ""]
    lines += ["## Stages", "", "| stage | status | seconds | detail |", "|---|---|---|---|"]
    for stage in report["stages"]:
        lines.append(f"| {stage['name']} | {stage['status']} | {stage['seconds']:.1f} | {stage.get('detail', '')} |")
    attempts = conversion.get("attempts", [])
    if attempts:
        lines += ["", "## Conversion attempts", "", "| exporter | strategy | result | reason |", "|---|---|---|---|"]
        for a in attempts:
            lines.append(f"| {a['exporter']} | {a['strategy']} | {a['status']} | {a.get('reason', '')} |")
    export_attempts = report.get("export", {}).get("attempts", [])
    failed_exports = [a for a in export_attempts if a["status"] != "ok"]
    if failed_exports:
        lines += ["", "## Export fallbacks", ""] + [f"- {a['exporter']}: {a['reason']}" for a in failed_exports]
    if report["operators"]:
        lines += ["", "## Operators", "", ", ".join(f"{o['op_type']}×{o['count']}" for o in report["operators"])]
    lines += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]
    return "\n".join(lines)
