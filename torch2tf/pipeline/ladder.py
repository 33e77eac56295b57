"""The ladder: exporters × strategies, tried in order until one conversion holds parity.

onnxruntime runs once per sample on each export (the reference), and its outputs are compared with
the torch outputs computed at export time. An export that already differs from torch is skipped
while another exporter may do better; if none does, the first such export is converted anyway and
the report says so. When no strategy holds parity, the attempt with the fewest failing targets is kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from torch2tf.conversion.export import EXPORTERS, export_onnx
from torch2tf.conversion.onnx_checks import check_and_infer_shapes
from torch2tf.conversion.strategies import GraphFacts, Strategy, strategies_for
from torch2tf.errors import ConversionError, Torch2TFError, UsageError
from torch2tf.perf.bench import time_tflite_files
from torch2tf.pipeline.attempt import Attempt, AttemptContext, Candidate, try_strategy
from torch2tf.pipeline.stages import Exported, Loaded, export_path, export_request
from torch2tf.records import ExportAttempt
from torch2tf.validation.parity import TargetRun, compare_target, run_samples, summarize_failures
from torch2tf.validation.runners import OrtRunner

FALLBACK_OPSET = 17  # the TorchScript exporter's retry uses another opset too
CONSOLE_LINE = 200  # a failed strategy is one line this long on the console; report.md and its log have it all
TUNE_THREADS, TUNE_ROUNDS = 2, 40  # --tune times each strategy's TFLite fp32 file like `torch2tf bench` does
# --tune keeps an earlier (more native) strategy unless a later one is this much faster: two timings of the same
# file differ by a few percent, and the ResNet example's keep-layout strategy once won by 0.2%, giving up its
# native dynamic batch (and, before int8_rewrites, its int8 file) for noise
TUNE_MARGIN = 0.05
Inform = Callable[[str, float], None]


@dataclass
class LadderResult:
    chosen: Attempt
    attempts: list[Attempt]
    export_attempts: list[ExportAttempt] = field(default_factory=list)  # exports made during the walk (fallbacks)

    def __str__(self) -> str:
        chosen = self.chosen
        return f"{chosen.exporter}/{chosen.strategy.name}" + ("" if chosen.status == "ok" else f" ({chosen.status})")


def select_strategies(specs, facts: GraphFacts, only: str | None) -> list[Strategy]:
    """The strategies for these inputs and this graph; ``only`` (--strategy) keeps one, or is a usage error."""
    strategies = strategies_for(specs, facts)
    if only is None:
        return strategies
    chosen = [r for r in strategies if r.name == only]
    if not chosen:
        names = ", ".join(r.name for r in strategies)
        raise UsageError(f"--strategy {only!r} does not apply here; try one of: {names}")
    return chosen


def one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


class Ladder:
    """One walk over exporters × strategies for one model."""

    def __init__(self, loaded: Loaded, exported: Exported, ctx: AttemptContext, strategies: list[Strategy],
                 inform: Inform, tune: bool = False) -> None:
        self.loaded, self.exported, self.ctx, self.strategies, self.inform = loaded, exported, ctx, strategies, inform
        self.tune = tune  # every strategy, then the fastest of those that hold parity
        self.attempts: list[Attempt] = []
        self.export_attempts: list[ExportAttempt] = []
        self.candidates: dict[str, Candidate | None] = {}
        self.out_of_budget = False
        self.budget_s = 0.0 if ctx.deadline is None else ctx.deadline - time.monotonic()

    def climb(self) -> LadderResult:
        exporters = [self.exported.exporter]
        if self.loaded.model.kind != "onnx":
            failed = {a.exporter for a in self.exported.info.attempts if a.status != "ok"}
            exporters += [e for e in EXPORTERS if e not in exporters and e not in failed]
        chosen = self._walk(exporters, require_export_parity=True)
        differing = [e for e in exporters if self.candidates.get(e) and self.candidates[e].export_differs]
        if chosen is None and differing:
            chosen = self._walk(differing[:1], require_export_parity=False)
        if chosen is None:
            produced = [a for a in self.attempts if a.produced_artifacts]
            if not produced:
                raise self._failure()
            chosen = min(produced, key=lambda a: a.failed_targets())
        return LadderResult(chosen, self.attempts, self.export_attempts)

    def _failure(self) -> ConversionError:
        """One line naming the strategy that came closest; every strategy's full reason in the details."""
        spent = f"the conversion budget ({self.budget_s:.0f} s) ran out after {len(self.attempts)} strategies"
        if not self.attempts:
            what = spent if self.out_of_budget else "no export could be converted"
            return ConversionError(what, details=[a.reason for a in self.export_attempts])
        closest = self.attempts[0]
        tried = spent if self.out_of_budget else f"no conversion strategy worked ({len(self.attempts)} tried)"
        line = one_line(f"{tried}; closest: {closest.exporter}/{closest.strategy.name}: {closest.reason}",
                        CONSOLE_LINE)
        hint = "--budget SECONDS gives the ladder more time; " if self.out_of_budget else ""
        return ConversionError(line, hint=hint + "--work-dir DIR keeps every attempt's onnx2tf.log",
                               details=[f"{a.exporter}/{a.strategy.name}: {a.reason}" for a in self.attempts])

    def _budget_spent(self) -> bool:
        remaining = self.ctx.remaining_s()
        if remaining is not None and remaining <= 0 and not self.out_of_budget:
            self.out_of_budget = True
            self.inform(f"conversion budget ({self.budget_s:.0f} s) spent: no further strategy is tried", 0.0)
        return self.out_of_budget

    def _walk(self, exporters: list[str], require_export_parity: bool) -> Attempt | None:
        for exporter in exporters:
            candidate = self._candidate(exporter)
            if candidate is None:
                continue
            if require_export_parity and candidate.export_differs:
                self.inform(one_line(f"{exporter} export differs from torch: "
                                     f"{summarize_failures([candidate.export_check])}", CONSOLE_LINE), 0.0)
                continue
            holding = []
            for strategy in self.strategies:
                if self._budget_spent():
                    return None
                attempt = try_strategy(candidate, strategy, self.ctx)
                self.attempts.append(attempt)
                reason = f" — {attempt.reason}" if attempt.reason else ""
                self.inform(one_line(f"{exporter}/{strategy.name}: {attempt.status}{reason}", CONSOLE_LINE),
                            attempt.seconds)
                if attempt.fp32_holds:  # ok, or only the fp16 file is off: no other strategy stores weights better
                    holding.append(attempt)
                    if not self.tune:
                        break
            if holding:
                return self._fastest(holding)
        return None

    def _fastest(self, attempts: list[Attempt]) -> Attempt:
        """Of the attempts with the fewest failing targets, the first (in strategy order) whose TFLite fp32 file
        is within TUNE_MARGIN of the fastest (--tune)."""
        if len(attempts) > 1:
            timings = time_tflite_files({str(i): (a.tflite_path("float32"), *a.tflite.bindings)
                                         for i, a in enumerate(attempts)}, self.ctx.samples[0].feeds,
                                        TUNE_THREADS, TUNE_ROUNDS)
            for i, attempt in enumerate(attempts):
                attempt.tflite_ms = timings[str(i)]
            self.inform(one_line("TFLite fp32 at batch 1: " + ", ".join(
                f"{a.strategy.name} {a.tflite_ms:.3f} ms" for a in attempts), CONSOLE_LINE), 0.0)
        return tuned_choice(attempts)

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
            request = export_request(loaded, export_path(self.ctx.work_dir, exporter), FALLBACK_OPSET,
                                     self.exported.output_names)
            result = export_onnx(request, exporters=(exporter,))
            check_and_infer_shapes(result.path)
        except Torch2TFError as exc:
            self.inform(one_line(f"{exporter} export failed: {exc.message}", CONSOLE_LINE), 0.0)
            self.export_attempts.append(ExportAttempt(exporter, "failed", exc.message))
            return None
        self.export_attempts.append(ExportAttempt(exporter, "ok", f"fallback, opset {FALLBACK_OPSET}"))
        return result.path


def tuned_choice(attempts: list[Attempt]) -> Attempt:
    """Of the attempts with the fewest failing targets, the first whose TFLite fp32 time (``tflite_ms``, None
    when untimed) is within TUNE_MARGIN of the fastest."""
    fewest = min(a.failed_targets() for a in attempts)
    holding = [a for a in attempts if a.failed_targets() == fewest]
    fastest = min(a.tflite_ms or 0.0 for a in holding)
    return next(a for a in holding if (a.tflite_ms or 0.0) <= fastest * (1 + TUNE_MARGIN))
