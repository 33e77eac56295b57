"""The convert pipeline: load → export → check ONNX → convert (the ladder) → parity → write.

Read top to bottom: each stage returns a typed result the next ones take. Results land in a
staging directory renamed into place at the end: after a failure (exit 1) nothing is left at the
output path; after a parity failure (exit 3) the artifacts are written with a report that says
where they differ.
"""
from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from torch2tf.artifacts import StagingDir, check_output_dir, read_manifest, write_manifest
from torch2tf.cache import Cache
from torch2tf.conversion.children import Ahead, started_ahead
from torch2tf.conversion.compatibility import Compatibility, inventory, operators_json
from torch2tf.conversion.strategies import PreparedGraphs
from torch2tf.errors import UsageError
from torch2tf.inputs import load_npz
from torch2tf.model_source import model_file
from torch2tf.pipeline import stages
from torch2tf.pipeline.attempt import AttemptContext
from torch2tf.pipeline.ladder import CONSOLE_LINE, Ladder, LadderResult, one_line, select_strategies
from torch2tf.pipeline.library_warnings import kept_warnings, warning_notes
from torch2tf.pipeline.localize import LocalizeRequest, localization_entry, localize_divergence
from torch2tf.pipeline.options import ConvertOptions, EventSink, StageLog
from torch2tf.pipeline.outputs import manifest_record, tflite_truth, write_artifacts
from torch2tf.pipeline.quantize import Quantized, quantize_stage
from torch2tf.records import Conversion, Export, ParityEntry, Report, TfliteSummary
from torch2tf.specs import TensorSpec, shared_dims
from torch2tf.stop import raise_if_stopped
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.markdown import parity_table, summary_line
from torch2tf.validation.parity import fp32_failed, uninformative_line, uninformative_outputs
from torch2tf.validation.report import tool_versions, write_report
from torch2tf.workspace import owned_dir


@dataclass(frozen=True)
class ConversionResult:
    """What ``convert`` produced (the CLI's and the Python API's ``torch2tf.convert``): the verdict,
    every artifact's path and the report."""

    output: Path
    report: Report

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def parity(self) -> tuple[ParityEntry, ...]:
        return self.report.parity

    @property
    def saved_model(self) -> Path:
        return self.output / "saved_model"

    @property
    def onnx(self) -> Path:
        return self.output / "model.onnx"

    @property
    def tflite(self) -> dict[str, Path]:
        """Target (``tflite_float32``, ``tflite_float16``, quantized ones) → its .tflite file."""
        variants = read_manifest(self.output).tflite.all_variants()
        return {target: self.output / variant.path for target, variant in variants.items()}

    @property
    def report_path(self) -> Path:
        return self.output / "report.md"

    def __repr__(self) -> str:
        return f"ConversionResult({'passed' if self.passed else 'FAILED'}, output={str(self.output)!r})"

    def _repr_markdown_(self) -> str:
        """How a notebook shows it: the verdict line and the parity table."""
        return "\n".join([summary_line(self.report), "", *parity_table(self.report)[2:],
                          "", f"Report: `{self.report_path}`"])


def run_convert(options: ConvertOptions, on_event: EventSink | None = None) -> ConversionResult:
    tolerances = _tolerances(options)
    if options.tune and options.strategy:
        raise UsageError("--tune compares the strategies and --strategy names one: give one of them")
    model = model_file(options.model)
    check_output_dir(options.output, options.force, keep=(model,) if model else ())
    arrays = _arrays(options)
    staging = StagingDir(options.output)
    try:
        # onnx2tf's and onnxsim's children import while this process loads and exports the model
        # --tune: every strategy converts (strategies_for builds at most four)
        onnx2tf_runs = (4 if options.tune else 1) + (len(options.quantize.modes) if options.quantize else 0)
        with _work_dir(options.work_dir) as work, started_ahead(work, onnx2tf_runs) as ahead, \
                kept_warnings() as caught:
            report = _run_stages(options, arrays, tolerances, StageLog(on_event), staging.path, work, ahead, caught)
        raise_if_stopped()  # never commit after a stop request, even one some library swallowed
        output = staging.commit()
    except BaseException:
        staging.discard()
        raise
    return ConversionResult(output, report)


def _run_stages(options: ConvertOptions, arrays, tolerances: Tolerances, log: StageLog, staging: Path,
                work: Path, ahead: Ahead, caught: list) -> Report:
    loaded = log.run("load", lambda: stages.load(options, arrays))
    cache = Cache(options.cache_dir)
    exported = log.run("export", lambda: stages.export(loaded, options, work, cache))
    if exported.info.from_cache:
        ahead.stop()  # an export from the cache: its conversion most likely is cached too; free the CPU
    graphs = PreparedGraphs(cache)
    checked = log.run("check_onnx", lambda: stages.check_onnx(exported, loaded, options, work, graphs))
    try:
        tolerances.check_outputs([s.name for s in checked.output_specs])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    ctx = AttemptContext(specs=loaded.specs, output_specs=checked.output_specs, samples=loaded.samples,
                         layouts=options.layouts, seed=options.seed, work_dir=work, tolerances=tolerances,
                         prepared=graphs, deadline=time.monotonic() + options.budget_s)
    strategies = select_strategies(loaded.specs, checked.facts, options.strategy)
    ladder = log.run("convert", lambda: Ladder(loaded, exported, ctx, strategies, log.informs("convert"),
                                               options.tune).climb())
    chosen = ladder.chosen
    loaded = replace(loaded, specs=chosen.specs, samples=chosen.samples)  # as converted: named dims may be pinned
    parity = ([chosen.candidate.export_check] if chosen.candidate.export_check else []) + list(chosen.parity)
    log.record("parity", chosen.parity_seconds, _parity_summary(parity))
    uninformative = uninformative_outputs(chosen.candidate.expected, tolerances)
    for entry in uninformative:
        log.info("parity", uninformative_line(entry, options.strict))
    localization = None
    if options.localize and fp32_failed(tuple(parity)):
        request = LocalizeRequest(reference_onnx=chosen.candidate.onnx_path, converted_onnx=chosen.onnx2tf_input,
                                  specs=loaded.specs, feeds=loaded.samples[0].feeds, strategy=chosen.strategy,
                                  work_dir=work / "localize", seed=options.seed)
        localization, _ = log.run("localize", lambda: localization_entry(localize_divergence(request)),
                                  describe=lambda entry: entry[1])
    quantized = Quantized()
    if options.quantize is not None:
        quantized = log.run("quantize", lambda: quantize_stage(options.quantize, chosen, loaded, checked.output_specs,
                                                               work, options.seed, tolerances, options.layouts.tflite,
                                                               cache))
    strict = bool(options.quantize and options.quantize.strict)
    truth = log.run("tflite_ops", lambda: tflite_truth(chosen, quantized, options.tflite_builtins_only))
    notes = [*loaded.notes, *exported.notes, *quantized.notes, *_cache_notes(cache, options),
             *warning_notes(caught)]
    log.run("write", lambda: write_artifacts(staging, chosen, quantized, strict), describe=lambda _: str(options.output))
    report = Report(model=loaded.model.source, inputs=tuple(s.to_json() for s in chosen.specs),
                    outputs=tuple(s.to_json() for s in checked.output_specs), stages=tuple(log.stages),
                    operators=operators_json(checked.compatibility) + truth.operators,
                    parity=tuple(parity + quantized.parity), export=_export_record(exported, ladder),
                    conversion=_conversion_record(ladder, quantized, options.layouts.saved_model, truth.summaries,
                                                  ctx.specs),
                    localization=localization, notes=tuple(notes), versions=tool_versions(),
                    uninformative=uninformative, strict=options.strict)
    write_report(staging, report)
    write_manifest(staging, manifest_record(loaded.model.source, options.seed, loaded.vocab, report, chosen, quantized,
                                            strict))
    return report


def _cache_notes(cache: Cache, options: ConvertOptions) -> list[str]:
    notes = []
    if cache.discarded:  # files that no longer matched their stored digests: the work was done again
        kinds = ", ".join(sorted(set(cache.discarded)))
        notes.append(f"damaged cache entries discarded and their work done again: {kinds}")
    if cache.used:
        counts = sorted(Counter(cache.used).items())  # onnx2tf ×2: the float conversion and a quantized one
        used = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in counts)
        notes.append(f"from the cache ({options.cache_dir}): {used}; parity checked again on every artifact")
    return notes


def _export_record(exported: stages.Exported, ladder: LadderResult) -> Export:
    """The export's record, with the exports the ladder made (fallbacks) and the exporter it chose."""
    return replace(exported.info, attempts=exported.info.attempts + tuple(ladder.export_attempts),
                   exporter=ladder.chosen.exporter)


def _conversion_record(ladder: LadderResult, quantized: Quantized, layout: str,
                       tflite: dict[str, TfliteSummary], declared: list[TensorSpec]) -> Conversion:
    chosen = ladder.chosen
    tflite_layout = chosen.tflite.layout if chosen.tflite else None  # None: its .tflite files could not be finished
    return Conversion(attempts=tuple(a.record() for a in ladder.attempts), strategy=chosen.strategy.name,
                      exporter=chosen.exporter, raw_batch=chosen.plan.raw_batch, layout=layout,
                      rewrites=tuple(chosen.rewrites) + tuple(quantized.rewrites), tflite_layout=tflite_layout,
                      tflite=tflite, **_axes_record(ladder, declared))


def _axes_record(ladder: LadderResult, specs: list[TensorSpec]) -> dict:
    """The named dims of the inputs as declared (``specs``) the chosen strategy keeps dynamic, or fixed (at which
    sizes, and why)."""
    chosen = ladder.chosen
    declared = shared_dims(specs)
    if not chosen.strategy.pin_dims:
        return {"dynamic_axes": tuple(declared)}
    kept = [a for a in ladder.attempts if not a.strategy.pin_dims and a.reason]
    reason = f"{kept[-1].strategy.name}: {kept[-1].reason}" if kept else "--strategy chose it"
    return {"static_axes": {name: dim.sizes[-1] for name, dim in declared.items()},
            "static_axes_reason": one_line(reason, CONSOLE_LINE)}


def _parity_summary(parity: list[ParityEntry]) -> str:
    failed = [p.target for p in parity if not p.passed]
    summary = f"{len(parity) - len(failed)}/{len(parity)} targets within tolerance"
    return summary + (f"; failing: {', '.join(failed)}" if failed else "")


def run_check(options: ConvertOptions, on_event: EventSink | None = None) -> Compatibility:
    """``torch2tf check``: load, export, inventory — no conversion, nothing written."""
    arrays = _arrays(options)
    log = StageLog(on_event)
    cache = Cache(options.cache_dir)  # the export and its preparation, as convert keeps them
    with owned_dir(None, "torch2tf-check-") as work:
        loaded = log.run("load", lambda: stages.load(options, arrays))
        exported = log.run("export", lambda: stages.export(loaded, options, work, cache))
        prepared = log.run("prepare", lambda: stages.prepare_for_check(exported.path, loaded.specs, work,
                                                                       PreparedGraphs(cache)),
                           describe=lambda _: "onnxsim and rewrites, as the first conversion strategy does")
        return inventory(prepared, options.tflite_builtins_only, source_path=exported.path)


def _arrays(options: ConvertOptions):
    """The user's sample arrays: --input-data's .npz, or the tensors the Python API was given."""
    return load_npz(options.input_data) if options.input_data else options.input_arrays


def _tolerances(options: ConvertOptions) -> Tolerances:
    try:
        return Tolerances.from_overrides(options.tolerances)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


@contextlib.contextmanager
def _work_dir(parent: Path | None) -> Iterator[Path]:
    """The run's work directory: in the temp dir, removed at the end; kept under --work-dir."""
    with contextlib.ExitStack() as stack:
        try:
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            work = stack.enter_context(owned_dir(parent, "torch2tf-work-", keep=parent is not None))
        except OSError as exc:
            where = f"--work-dir {parent}" if parent else "a work directory in the temp directory"
            raise UsageError(f"cannot create {where}: {exc.strerror or exc}") from exc
        yield work
