"""What a change did: two report.json files compared (``torch2tf report diff OLD NEW``).

Per target and output the error figures then and now; latency and size ratios; operators added or
removed; a changed conversion strategy. A regression is an error figure grown past ``factor`` ×
its old value (above a noise floor), a target or output that passed and now fails, a file grown
past ``size_factor`` or a latency past ``latency_factor``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.artifacts import read_manifest
from torch2tf.errors import UsageError
from torch2tf.validate.report import read_report

REGRESSION_FLOOR = 1e-6  # errors below this are noise: a regression must exceed factor × max(old, floor)
FIGURES = ("max_abs", "mean_abs")


@dataclass
class DiffOptions:
    factor: float = 2.0
    size_factor: float = 1.2
    latency_factor: float = 1.5


@dataclass
class ReportDiff:
    old: str
    new: str
    passed: tuple[bool, bool]
    outputs: list[dict[str, Any]] = field(default_factory=list)  # target, output, figures then/now, change
    sizes: list[dict[str, Any]] = field(default_factory=list)
    latency: list[dict[str, Any]] = field(default_factory=list)
    operators: dict[str, list[str]] = field(default_factory=dict)
    strategy: dict[str, str] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "passed": {"old": self.passed[0], "new": self.passed[1]},
                "regressed": bool(self.regressions), "regressions": self.regressions,
                "improvements": self.improvements, "outputs": self.outputs, "sizes": self.sizes,
                "latency": self.latency, "operators": self.operators, "strategy": self.strategy}


def comparisons(parity: list[dict]) -> dict[tuple[str, str], dict]:
    """(target, output) → figures, with each fp16 file's precision loss as a target of its own."""
    found = {}
    for entry in parity:
        for out in entry.get("outputs", []):
            found[(entry["target"], out["name"])] = out
        for out in (entry.get("precision_loss") or {}).get("outputs", []):
            found[(f"{entry['target']} precision loss", out["name"])] = out
    return found


def find_regressions(parity: list[dict], baseline: list[dict], factor: float) -> list[dict]:
    """Outputs whose max or mean abs error (or precision loss) grew by more than ``factor`` against the baseline."""
    before = comparisons(baseline)
    regressions = []
    for (target, name), out in comparisons(parity).items():
        old = before.get((target, name))
        if old is None:
            continue
        for figure in FIGURES:
            if figure in out and figure in old and out[figure] > factor * max(old[figure], REGRESSION_FLOOR):
                regressions.append({"target": target, "output": name, "figure": figure,
                                    "baseline": old[figure], "value": out[figure], "factor": factor})
    return regressions


def load(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """A report (a report.json, or a convert output holding one) and its artifact sizes from manifest.json."""
    report_path = path / "report.json" if path.is_dir() else path
    report = read_report(report_path)
    if not (report_path.parent / "manifest.json").is_file():
        return report, {}
    try:
        sizes = {a["path"]: a["size"] for a in read_manifest(report_path.parent).get("artifacts", [])
                 if "size" in a and not a["path"].startswith("report.")}
    except (KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{report_path.parent / 'manifest.json'} is not a torch2tf manifest: {exc}") from exc
    return report, sizes


def diff_reports(old_path: Path, new_path: Path, options: DiffOptions | None = None) -> ReportDiff:
    options = options or DiffOptions()
    (old, old_sizes), (new, new_sizes) = load(old_path), load(new_path)
    diff = ReportDiff(old=str(old_path), new=str(new_path), passed=(bool(old.get("passed")), bool(new.get("passed"))))
    if diff.passed == (True, False):
        diff.regressions.append("the report passed before and fails now")
    _compare_outputs(diff, old.get("parity", []), new.get("parity", []), options.factor)
    _compare_sizes(diff, old_sizes, new_sizes, options.size_factor)
    _compare_latency(diff, old.get("benchmark") or {}, new.get("benchmark") or {}, options.latency_factor)
    then_ops = {op["op_type"] for op in old.get("operators", [])}
    now_ops = {op["op_type"] for op in new.get("operators", [])}
    diff.operators = {"added": sorted(now_ops - then_ops), "removed": sorted(then_ops - now_ops)}
    then, now = _strategy(old), _strategy(new)
    if then != now:
        diff.strategy = {"old": then, "new": now}
    return diff


def _strategy(report: dict[str, Any]) -> str:
    conversion = report.get("conversion") or {}
    return f"{conversion.get('exporter', '?')}/{conversion.get('strategy', '?')}"


def _compare_outputs(diff: ReportDiff, old: list[dict], new: list[dict], factor: float) -> None:
    before, after = comparisons(old), comparisons(new)
    for target in sorted({p["target"] for p in old} - {p["target"] for p in new}):
        diff.regressions.append(f"{target}: checked before, missing now")
    for entry in new:
        if not entry.get("outputs") and not entry.get("passed", True):
            diff.regressions.append(f"{entry['target']}: failed to run ({'; '.join(entry.get('errors', []))})"[:300])
    for key in sorted(set(before) | set(after)):
        then, now = before.get(key), after.get(key)
        row = {"target": key[0], "output": key[1], "change": _change(then, now, factor)}
        for figure in (*FIGURES, "cosine"):
            row[figure] = [then.get(figure) if then else None, now.get(figure) if now else None]
        diff.outputs.append(row)
        label = f"{key[0]} output '{key[1]}'"
        if row["change"] == "new" and now and not now.get("passed"):
            diff.regressions.append(f"{label}: new, and failing")
        elif row["change"] == "removed":
            diff.regressions.append(f"{label}: checked before, missing now")
        elif row["change"] == "now failing":
            diff.regressions.append(f"{label}: passed before, fails now")
        elif row["change"].startswith("worse"):
            diff.regressions.append(f"{label}: {row['change']}")
        elif row["change"].startswith(("better", "now passing")):
            diff.improvements.append(f"{label}: {row['change']}")


def _change(then: dict | None, now: dict | None, factor: float) -> str:
    if then is None:
        return "new"
    if now is None:
        return "removed"
    if then.get("passed") and not now.get("passed"):
        return "now failing"
    if now.get("passed") and not then.get("passed"):
        return "now passing"
    for figure in FIGURES:
        if figure in then and figure in now and now[figure] > factor * max(then[figure], REGRESSION_FLOOR):
            return f"worse: {figure} ×{now[figure] / max(then[figure], REGRESSION_FLOOR):.1f}"
    for figure in FIGURES:
        if figure in then and figure in now and then[figure] > factor * max(now[figure], REGRESSION_FLOOR):
            return f"better: {figure} ÷{then[figure] / max(now[figure], REGRESSION_FLOOR):.1f}"
    return "same"


def _with_external_data(sizes: dict[str, int]) -> dict[str, int]:
    """An ONNX graph and its external data (``model.onnx`` + ``model.onnx.data``) as one total: a
    re-export may move the weights between the two files, which changes neither the model nor its bytes."""
    merged: dict[str, int] = {}
    for path, size in sizes.items():
        graph = path.removesuffix(".data")
        key = f"{graph} (+ external data)" if graph.endswith(".onnx") else path
        merged[key] = merged.get(key, 0) + size
    return merged


def _compare_sizes(diff: ReportDiff, old: dict[str, int], new: dict[str, int], factor: float) -> None:
    old, new = _with_external_data(old), _with_external_data(new)
    for path in sorted(set(old) | set(new)):
        then, now = old.get(path), new.get(path)
        ratio = now / then if then and now else None
        diff.sizes.append({"artifact": path, "bytes": [then, now], "ratio": ratio})
        if ratio is not None and ratio > factor:
            diff.regressions.append(f"{path}: {ratio:.2f}× larger ({then} → {now} bytes)")


def _compare_latency(diff: ReportDiff, old: dict, new: dict, factor: float) -> None:
    before = {(r["runtime"], r["batch"]): r for r in old.get("rows", [])}
    for row in new.get("rows", []):
        then = before.get((row["runtime"], row["batch"]))
        if then is None or not then.get("median_ms"):
            continue
        ratio = row["median_ms"] / then["median_ms"]
        diff.latency.append({"runtime": row["runtime"], "batch": row["batch"],
                             "median_ms": [then["median_ms"], row["median_ms"]], "ratio": ratio})
        if ratio > factor:
            diff.regressions.append(f"{row['runtime']} at batch {row['batch']}: {ratio:.2f}× slower")
