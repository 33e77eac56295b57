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
from torch2tf.records import Benchmark, OutputComparison, ParityEntry, Regression, Report, read_report
from torch2tf.records.diff import LatencyChange, OutputChange, SizeChange

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
    outputs: list[OutputChange] = field(default_factory=list)
    sizes: list[SizeChange] = field(default_factory=list)
    latency: list[LatencyChange] = field(default_factory=list)
    operators: dict[str, list[str]] = field(default_factory=dict)
    strategy: dict[str, str] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "passed": {"old": self.passed[0], "new": self.passed[1]},
                "regressed": self.regressed, "regressions": self.regressions,
                "improvements": self.improvements, "outputs": [o.to_json() for o in self.outputs],
                "sizes": [s.to_json() for s in self.sizes], "latency": [r.to_json() for r in self.latency],
                "operators": self.operators, "strategy": self.strategy}


def comparisons(parity: tuple[ParityEntry, ...]) -> dict[tuple[str, str], OutputComparison]:
    """(target, output) → figures, with each fp16 file's precision loss as a target of its own."""
    found = {}
    for entry in parity:
        for out in entry.outputs:
            found[(entry.target, out.name)] = out
        for out in entry.precision_loss.outputs if entry.precision_loss else ():
            found[(f"{entry.target} precision loss", out.name)] = out
    return found


def find_regressions(parity: tuple[ParityEntry, ...], baseline: tuple[ParityEntry, ...],
                     factor: float) -> tuple[Regression, ...]:
    """Outputs whose max or mean abs error (or precision loss) grew by more than ``factor`` against the baseline."""
    before = comparisons(baseline)
    regressions = []
    for (target, name), out in comparisons(parity).items():
        old = before.get((target, name))
        if old is None:
            continue
        for figure in FIGURES:
            value, baseline_value = getattr(out, figure), getattr(old, figure)
            if value > factor * max(baseline_value, REGRESSION_FLOOR):
                regressions.append(Regression(target, name, figure, baseline_value, value, factor))
    return tuple(regressions)


def load(path: Path) -> tuple[Report, dict[str, int]]:
    """A report (a report.json, or a convert output holding one) and its artifact sizes from manifest.json."""
    report_path = path / "report.json" if path.is_dir() else path
    report = read_report(report_path)
    if not (report_path.parent / "manifest.json").is_file():
        return report, {}
    return report, read_manifest(report_path.parent).sizes()


def diff_reports(old_path: Path, new_path: Path, options: DiffOptions | None = None) -> ReportDiff:
    options = options or DiffOptions()
    (old, old_sizes), (new, new_sizes) = load(old_path), load(new_path)
    diff = ReportDiff(old=str(old_path), new=str(new_path), passed=(old.passed, new.passed))
    if diff.passed == (True, False):
        diff.regressions.append("the report passed before and fails now")
    _compare_outputs(diff, old.parity, new.parity, options.factor)
    _compare_sizes(diff, old_sizes, new_sizes, options.size_factor)
    _compare_latency(diff, old.benchmark, new.benchmark, options.latency_factor)
    then_ops = {op.op_type for op in old.operators}
    now_ops = {op.op_type for op in new.operators}
    diff.operators = {"added": sorted(now_ops - then_ops), "removed": sorted(then_ops - now_ops)}
    then, now = _strategy(old), _strategy(new)
    if then != now:
        diff.strategy = {"old": then, "new": now}
    return diff


def _strategy(report: Report) -> str:
    conversion = report.conversion
    return f"{conversion.exporter or '?'}/{conversion.strategy or '?'}"


def _compare_outputs(diff: ReportDiff, old: tuple[ParityEntry, ...], new: tuple[ParityEntry, ...],
                     factor: float) -> None:
    before, after = comparisons(old), comparisons(new)
    for target in sorted({p.target for p in old} - {p.target for p in new}):
        diff.regressions.append(f"{target}: checked before, missing now")
    for entry in new:
        if not entry.outputs and not entry.passed:
            diff.regressions.append(f"{entry.target}: failed to run ({'; '.join(entry.errors)})"[:300])
    for key in sorted(set(before) | set(after)):
        then, now = before.get(key), after.get(key)
        figures = {f: (getattr(then, f) if then else None, getattr(now, f) if now else None)
                   for f in (*FIGURES, "cosine")}
        row = OutputChange(key[0], key[1], _change(then, now, factor), **figures)
        diff.outputs.append(row)
        label = f"{key[0]} output '{key[1]}'"
        if row.change == "new" and now and not now.passed:
            diff.regressions.append(f"{label}: new, and failing")
        elif row.change == "removed":
            diff.regressions.append(f"{label}: checked before, missing now")
        elif row.change == "now failing":
            diff.regressions.append(f"{label}: passed before, fails now")
        elif row.change.startswith("worse"):
            diff.regressions.append(f"{label}: {row.change}")
        elif row.better:
            diff.improvements.append(f"{label}: {row.change}")


def _change(then: OutputComparison | None, now: OutputComparison | None, factor: float) -> str:
    if then is None:
        return "new"
    if now is None:
        return "removed"
    if then.passed and not now.passed:
        return "now failing"
    if now.passed and not then.passed:
        return "now passing"
    for figure in FIGURES:
        old, new = getattr(then, figure), getattr(now, figure)
        if new > factor * max(old, REGRESSION_FLOOR):
            return f"worse: {figure} ×{new / max(old, REGRESSION_FLOOR):.1f}"
    for figure in FIGURES:
        old, new = getattr(then, figure), getattr(now, figure)
        if old > factor * max(new, REGRESSION_FLOOR):
            return f"better: {figure} ÷{old / max(new, REGRESSION_FLOOR):.1f}"
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
        diff.sizes.append(SizeChange(path, (then, now), ratio))
        if ratio is not None and ratio > factor:
            diff.regressions.append(f"{path}: {ratio:.2f}× larger ({then} → {now} bytes)")


def _compare_latency(diff: ReportDiff, old: Benchmark | None, new: Benchmark | None, factor: float) -> None:
    before = {(r.runtime, r.batch): r for r in (old.rows if old else ())}
    for row in new.rows if new else ():
        then = before.get((row.runtime, row.batch))
        if then is None or not then.median_ms:
            continue
        ratio = row.median_ms / then.median_ms
        diff.latency.append(LatencyChange(row.runtime, row.batch, (then.median_ms, row.median_ms), ratio))
        if ratio > factor:
            diff.regressions.append(f"{row.runtime} at batch {row.batch}: {ratio:.2f}× slower")
