"""The ladder: exporters × strategies, tried in order until one conversion holds parity.

onnxruntime runs once per sample on each export (the reference), and its outputs are compared with
the torch outputs computed at export time. An export that already differs from torch is skipped
while another exporter may do better; if none does, the first such export is converted anyway and
the report says so. When no rung holds parity, the attempt with the fewest failing targets is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from torch2tf.convert.export import EXPORTERS, export_onnx
from torch2tf.convert.onnx_checks import check_and_infer_shapes
from torch2tf.convert.strategies import Strategy, strategies_for
from torch2tf.errors import ConversionError, Torch2TFError, UsageError
from torch2tf.pipeline.attempt import Attempt, AttemptContext, Candidate, try_strategy
from torch2tf.pipeline.stages import Exported, Loaded, export_path
from torch2tf.validate.parity import (
    TargetRun,
    compare_target,
    run_samples,
    summarize_failures,
)
from torch2tf.validate.runners import OrtRunner

FALLBACK_OPSET = 17  # the TorchScript exporter's retry uses another opset too
Inform = Callable[[str, float], None]


@dataclass
class LadderResult:
    chosen: Attempt
    attempts: list[Attempt]
    export_attempts: list[dict] = field(default_factory=list)  # exports made during the walk (fallbacks)

    def __str__(self) -> str:
        chosen = self.chosen
        return f"{chosen.exporter}/{chosen.strategy.name}" + ("" if chosen.status == "ok" else f" ({chosen.status})")


def select_strategies(specs, op_types: set[str], only: str | None) -> list[Strategy]:
    """The rungs for these inputs and operators; ``only`` (--strategy) keeps one, or is a usage error."""
    rungs = strategies_for(specs, op_types)
    if only is None:
        return rungs
    chosen = [r for r in rungs if r.name == only]
    if not chosen:
        raise UsageError(f"--strategy {only!r} does not apply here; try one of: {', '.join(r.name for r in rungs)}")
    return chosen


class Ladder:
    """One walk over exporters × strategies for one model."""

    def __init__(self, loaded: Loaded, exported: Exported, ctx: AttemptContext, rungs: list[Strategy],
                 inform: Inform) -> None:
        self.loaded, self.exported, self.ctx, self.rungs, self.inform = loaded, exported, ctx, rungs, inform
        self.attempts: list[Attempt] = []
        self.export_attempts: list[dict] = []
        self.candidates: dict[str, Candidate | None] = {}

    def climb(self) -> LadderResult:
        exporters = [self.exported.exporter]
        if self.loaded.model.kind != "onnx":
            failed = {a["exporter"] for a in self.exported.info["attempts"] if a["status"] != "ok"}
            exporters += [e for e in EXPORTERS if e not in exporters and e not in failed]
        chosen = self._walk(exporters, require_export_parity=True)
        differing = [e for e in exporters if self.candidates.get(e) and self.candidates[e].export_differs]
        if chosen is None and differing:
            chosen = self._walk(differing[:1], require_export_parity=False)
        if chosen is None:
            produced = [a for a in self.attempts if a.produced_artifacts]
            if not produced:
                reasons = "; ".join(f"{a.exporter}/{a.strategy.name}: {a.reason}" for a in self.attempts)
                raise ConversionError(f"no conversion strategy worked ({reasons})",
                                      hint="see `torch2tf check` for operators onnx2tf cannot convert")
            chosen = min(produced, key=lambda a: a.failed_targets())
        return LadderResult(chosen, self.attempts, self.export_attempts)

    def _walk(self, exporters: list[str], require_export_parity: bool) -> Attempt | None:
        for exporter in exporters:
            candidate = self._candidate(exporter)
            if candidate is None:
                continue
            if require_export_parity and candidate.export_differs:
                self.inform(f"{exporter} export differs from torch: {summarize_failures([candidate.export_check])}", 0.0)
                continue
            for strategy in self.rungs:
                attempt = try_strategy(candidate, strategy, self.ctx)
                self.attempts.append(attempt)
                self.inform(f"{exporter}/{strategy.name}: {attempt.status}"
                            + (f" — {attempt.reason}" if attempt.reason else ""), attempt.seconds)
                if attempt.status == "ok":
                    return attempt
        return None

    def _candidate(self, exporter: str) -> Candidate | None:
        if exporter not in self.candidates:
            path = self.exported.path if exporter == self.exported.exporter else self._fallback_export(exporter)
            self.candidates[exporter] = None if path is None else self._reference(exporter, path)
        return self.candidates[exporter]

    def _reference(self, exporter: str, path: Path) -> Candidate:
        with OrtRunner(path) as ort:
            expected = run_samples(ort, self.ctx.samples)
        torch_outputs = self.exported.torch_outputs
        check = None
        if torch_outputs is not None:  # the export itself can be wrong: onnxruntime against torch
            check = compare_target("onnxruntime", TargetRun(expected), torch_outputs, "fp32",
                                   reference_name="torch", tolerances=self.ctx.tolerances)
        return Candidate(exporter, path, expected, check)

    def _fallback_export(self, exporter: str) -> Path | None:
        loaded = self.loaded
        try:
            result = export_onnx(loaded.model, loaded.specs, loaded.samples[0].feeds,
                                 export_path(self.ctx.work_dir, exporter), FALLBACK_OPSET,
                                 self.exported.output_names, exporters=(exporter,))
            check_and_infer_shapes(result.path)
        except Torch2TFError as exc:
            self.inform(f"{exporter} export failed: {exc.message}", 0.0)
            self.export_attempts.append({"exporter": exporter, "status": "failed", "reason": exc.message})
            return None
        self.export_attempts.append({"exporter": exporter, "status": "ok", "reason": f"fallback, opset {FALLBACK_OPSET}"})
        return result.path
