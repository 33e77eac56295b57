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


def report_passed(stages: list[dict], parity: list[dict], regressions: list[dict]) -> bool:
    """The verdict: no failed stage, some parity checked, every gating target within tolerance.

    Quantized variants gate only when asked (--strict-quant): their failure is reported, not fatal.
    """
    stages_ok = all(s["status"] != "failed" for s in stages)
    return stages_ok and bool(parity) and all(p["passed"] for p in parity if p.get("gating", True)) \
        and not regressions


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

    @property
    def passed(self) -> bool:
        return report_passed(self.stages, self.parity, self.regressions)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "passed": self.passed, "model": self.model,
                "inputs": self.inputs, "outputs": self.outputs, "stages": self.stages,
                "operators": self.operators, "parity": self.parity, "export": self.export,
                "conversion": self.conversion, "localization": self.localization,
                "regressions": self.regressions, "notes": self.notes, "versions": self.versions}

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
    lines = [f"# torch2tf report: {report['model']}", "", summary_line(report), ""]
    conversion = report.get("conversion", {})
    if conversion.get("strategy"):
        lines += [f"Exporter: `{report.get('export', {}).get('exporter', '?')}` · strategy: "
                  f"`{conversion['strategy']}` · serving signature batch: dynamic"
                  + (f" (onnx2tf batch fixed to {conversion['raw_batch']}, restored by mapping over rows)"
                     if conversion.get("raw_batch") else ""), ""]
    lines += parity_table(report)
    localization = report.get("localization")
    if localization:
        lines += ["", "## Where it starts to differ", ""]
        if localization.get("found") is False:
            lines.append("No single ONNX node differs on its own (the error accumulates, or the cut "
                         "graphs could not be compared).")
        else:
            lines.append(f"First differing node: **{localization['node']}** ({localization['op_type']}), "
                         f"tensor `{localization['tensor']}`"
                         + (f", max abs {_fmt(localization['max_abs'])}" if localization.get("max_abs") is not None else ""))
            if localization.get("module") or localization.get("source"):
                lines.append(f"PyTorch: module `{localization.get('module') or '?'}`"
                             + (f" at `{localization['source']}`" if localization.get("source") else ""))
            lines.append(f"Found by bisection in {localization['probes']} partial conversions. "
                         + localization.get("note", ""))
    if report.get("regressions"):
        lines += ["", "## Regressions against the baseline", "", "| target | output | figure | baseline | now |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['target']} | {r['output']} | {r['figure']} | {_fmt(r['baseline'])} | {_fmt(r['value'])} |"
                  for r in report["regressions"]]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    if report.get("benchmark"):
        from torch2tf.validate.bench import bench_table

        bench = report["benchmark"]
        lines += ["", "## Benchmark", "", f"{bench['threads']} threads, {bench['warmup']} warm-up runs, "
                  f"{bench['rounds']} interleaved rounds; ratios against onnxruntime fp32.", "", *bench_table(bench)]
        lines += [f"- {n}" for n in bench.get("notes", [])]
    lines += ["", "## Stages", "", "| stage | status | seconds | detail |", "|---|---|---|---|"]
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
    onnx_ops = [o for o in report["operators"] if not o.get("target")]
    if onnx_ops:
        lines += ["", "## Operators", "", "ONNX: " + ", ".join(
            f"{o['op_type']}×{o['count']}" + ("" if o["status"] in ("builtin", "exported") else f" ({o['status']})")
            for o in onnx_ops)]
    for target, summary in conversion.get("tflite", {}).items():
        kinds = "builtin only" if summary["builtin_only"] else "needs " + ", ".join(summary["flex"] + summary["custom"])
        lines.append(f"\n{target}: {sum(summary['ops'].values())} ops, {kinds}, "
                     f"{summary['transpose_count']} TRANSPOSE — "
                     + ", ".join(f"{k}×{v}" for k, v in summary["ops"].items()))
    lines += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]
    return "\n".join(lines)


def summary_line(report: dict[str, Any]) -> str:
    mark = "✅ PASSED" if report["passed"] else "❌ FAILED"
    soft = [p["target"] for p in report["parity"] if not p["passed"] and not p.get("gating", True)]
    failed = [f"{p['target']}/{o['name']}" for p in report["parity"] for o in p["outputs"] if not o["passed"]]
    failed += [f"{p['target']} (did not run)" for p in report["parity"] if p.get("errors") and not p["outputs"]]
    text = f"**{mark}** — {len(report['parity'])} comparisons"
    if failed:
        text += f"; failing: {', '.join(failed)}"
    if report.get("regressions"):
        text += f"; {len(report['regressions'])} regressions against the baseline"
    if soft:
        text += f" (not gating: {', '.join(soft)} below the int8 preset)"
    return text


def parity_table(report: dict[str, Any]) -> list[str]:
    """Target × output with ✓/✗ and the figures: what a CI job summary shows."""
    lines = ["## Parity", "", "| target | vs | output | shape | max abs | max rel | mean abs | cosine | top-1 | atol | |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for target in report["parity"]:
        for out in target["outputs"]:
            top1 = "" if out.get("top1") is None else f"{out['top1']:.3f}"
            atol = "–" if out["atol"] is None else f"{out['atol']:g}"
            verdict = "✓" if out["passed"] else "✗ " + out.get("note", "")
            vs = target["reference"] + (" (convert run)" if target.get("carried_over") else "")
            lines.append(f"| {target['target']} | {vs} | {out['name']} | "
                         f"{'x'.join(map(str, out['shape']))} | {_fmt(out['max_abs'])} | {_fmt(out['max_rel'])} | "
                         f"{_fmt(out['mean_abs'])} | {out['cosine']:.6f} | {top1} | {atol} | {verdict} |")
        for error in target.get("errors", []):
            lines.append(f"| {target['target']} | {target['reference']} | – | | | | | | | | ✗ {error} |")
    samples = sorted({s for p in report["parity"] if "latency_ms" not in p for s in p.get("samples", [])})
    lines += ["", "Samples: " + ", ".join(samples)]
    for p in report["parity"]:
        if "latency_ms" in p:
            latency = p["latency_ms"]
            lines.append(f"\n{p['target']} ({p.get('endpoint', '')}): {latency['requests']} requests, latency "
                         f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms")
    return lines
