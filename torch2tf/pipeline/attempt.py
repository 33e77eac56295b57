"""One attempt: convert one export with one strategy and check every artifact.

An attempt runs onnx2tf on the strategy's graph, wraps the result in the PyTorch-facing serving
signature, binds the TFLite outputs by value, and checks the SavedModel and both TFLite files
against onnxruntime on the same samples. It never raises for the model's faults: the reason is
recorded and the ladder tries the next strategy.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from torch2tf.cache import directory_digest
from torch2tf.conversion.onnx_to_tf import run_onnx2tf
from torch2tf.conversion.rewrites.registry import FIX
from torch2tf.conversion.signature import (
    SERVING_RULE,
    plan_inputs,
    read_raw_signature,
    run_raw,
    write_serving_saved_model,
)
from torch2tf.conversion.strategies import PreparedGraphs, Strategy, kept_layout_inputs, onnx2tf_request, strategy_specs
from torch2tf.errors import ArtifactLoadError, ArtifactRunError, ConversionError, InternalError
from torch2tf.inputs import Sample
from torch2tf.native_logs import import_tensorflow
from torch2tf.pipeline.bindings import bind_outputs
from torch2tf.pipeline.finish import FinishedTflite, FinishRequest, finish_tflite
from torch2tf.records import ConversionAttempt, ParityEntry, RewriteNote
from torch2tf.specs import Layouts, SignaturePlan, TensorSpec
from torch2tf.tflite.shape_constants import exact_shape_constants
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.half_weights import check_fp16_file
from torch2tf.validation.parity import (
    FP32_TARGETS,
    HALF_TARGET,
    Outputs,
    check_target,
    failed_target,
    summarize_failures,
)
from torch2tf.validation.runners import SavedModelRunner, TfliteRunner

# target, file precision; the fp32 preset judges both files' conversion error (fp16's precision loss is beside it)
TFLITE_PRECISIONS = (("tflite_float32", "float32"), ("tflite_float16", "float16"))


@dataclass
class Candidate:
    """One exported ONNX with onnxruntime's outputs on the samples, and how it compares with torch."""

    exporter: str
    onnx_path: Path
    expected: Outputs
    export_check: ParityEntry | None  # torch vs onnxruntime; None without a torch model

    @property
    def export_differs(self) -> bool:
        return self.export_check is not None and not self.export_check.passed


@dataclass
class AttemptContext:
    """What every attempt needs; built once per run."""

    specs: list[TensorSpec]
    output_specs: list[TensorSpec]
    samples: list[Sample]
    layouts: Layouts
    seed: int
    work_dir: Path
    tolerances: Tolerances
    prepared: PreparedGraphs  # onnxsim + rewrites, once per export and preparation
    deadline: float | None = None  # time.monotonic() at which the ladder's budget is spent

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


@dataclass
class Attempt:
    candidate: Candidate
    strategy: Strategy
    directory: Path
    status: str = "failed"  # ok | failed | parity-failed
    reason: str = ""
    seconds: float = 0.0
    plan: SignaturePlan | None = None
    tflite: FinishedTflite | None = None  # the finished fp32 file (the fp16 one has the same ends)
    tflite_error: str = ""  # why the .tflite files could not be finished (their targets fail with it)
    parity: list[ParityEntry] = field(default_factory=list)
    rewrites: list[RewriteNote] = field(default_factory=list)
    parity_seconds: float = 0.0
    tflite_ms: float | None = None  # its TFLite fp32 file's median latency, when --tune timed it
    specs: list[TensorSpec] = field(default_factory=list)  # the inputs as converted (named dims pinned or not)
    samples: list[Sample] = field(default_factory=list)  # the samples its artifacts take (all, or those at the pins)

    @property
    def exporter(self) -> str:
        return self.candidate.exporter

    @property
    def produced_artifacts(self) -> bool:
        return self.plan is not None

    def failed_targets(self) -> int:
        return sum(1 for p in self.parity if not p.passed)

    @property
    def fp32_holds(self) -> bool:
        """The export matches torch and the fp32 artifacts match it: what another strategy could change.

        An fp16 file that alone fails is precision, not conversion: every strategy stores the same weights.
        """
        fp32 = [p for p in self.parity if p.target in FP32_TARGETS]
        return not self.candidate.export_differs and len(fp32) == len(FP32_TARGETS) and all(p.passed for p in fp32)

    @property
    def onnx2tf_input(self) -> Path:
        return self.directory / "onnx" / "model.onnx"

    @property
    def saved_model_dir(self) -> Path:
        return self.directory / "saved_model"

    def tflite_path(self, precision: str) -> Path:
        return self.directory / "raw" / f"model_{precision}.tflite"

    def record(self) -> ConversionAttempt:
        """report.json's entry for this strategy."""
        return ConversionAttempt(self.exporter, self.strategy.name, self.status, self.reason, round(self.seconds, 2),
                                 tuple(self.rewrites), None if self.tflite_ms is None else round(self.tflite_ms, 6))


def try_strategy(candidate: Candidate, strategy: Strategy, ctx: AttemptContext) -> Attempt:
    """Convert with one strategy, build the serving signature, check parity. Never raises for the model's faults."""
    directory = ctx.work_dir / f"{candidate.exporter}-{strategy.name}"
    shutil.rmtree(directory, ignore_errors=True)
    ctx = strategy_context(strategy, ctx)
    attempt = Attempt(candidate, strategy, directory, specs=ctx.specs, samples=ctx.samples)
    start = time.perf_counter()
    try:
        _convert(attempt, ctx)
        _finish_tflite_files(attempt, ctx)
        parity_start = time.perf_counter()
        attempt.parity = _check_artifacts(attempt, ctx)
        attempt.parity_seconds = time.perf_counter() - parity_start
    except (ConversionError, ArtifactLoadError) as exc:
        attempt.reason = exc.message
    except InternalError:
        raise  # a bug of ours is never a strategy that failed: it stops the run, with its traceback
    except Exception as exc:  # TF/LiteRT raise their own types on graphs onnx2tf mis-built: next strategy
        attempt.reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    attempt.seconds = time.perf_counter() - start
    if attempt.parity and not attempt.reason:
        attempt.status = "parity-failed" if attempt.failed_targets() else "ok"
        attempt.reason = summarize_failures(attempt.parity)
    if candidate.export_differs:
        attempt.status = "parity-failed" if attempt.status == "ok" else attempt.status
        attempt.reason = "export differs from torch; " + attempt.reason
    return attempt


def strategy_context(strategy: Strategy, ctx: AttemptContext) -> AttemptContext:
    """The context as ``strategy`` sees it: with its named dims pinned, their size in every input and the
    samples at that size (the odd ones, which take each dim's largest size)."""
    if not strategy.pin_dims:
        return ctx
    specs = strategy_specs(strategy, ctx.specs)
    fits = [sample for sample in ctx.samples if all(s.accepts(sample.feeds[s.name].shape) for s in specs)]
    return replace(ctx, specs=specs, samples=fits)


def _convert(attempt: Attempt, ctx: AttemptContext) -> None:
    """onnx2tf on the strategy's graph, then the PyTorch-facing serving signature around it."""
    strategy, directory = attempt.strategy, attempt.directory
    source, attempt.rewrites = ctx.prepared.prepare(attempt.candidate.onnx_path, directory / "onnx", strategy,
                                                    ctx.specs)
    # this process needs TensorFlow next: import it while the child converts
    remaining = ctx.remaining_s()
    result = run_onnx2tf(onnx2tf_request(strategy, source, directory / "raw", ctx.specs, ctx.seed), directory,
                         cache=ctx.prepared.cache, meanwhile=import_tensorflow,
                         **({} if remaining is None else {"timeout_s": max(1, round(remaining))}))
    raw, raw_inputs = read_raw_signature(result.saved_model_dir)
    inputs, raw_batch = plan_inputs(ctx.specs, raw_inputs, kept_layout_inputs(strategy, ctx.specs))
    first = ctx.samples[0]
    raw_outputs = run_raw(raw, inputs, first.feeds, raw_batch)
    outputs = bind_outputs(ctx.output_specs, raw_outputs, attempt.candidate.expected[first.name])
    plan = SignaturePlan(inputs, outputs, raw_batch, ctx.layouts.saved_model)
    _serving_saved_model(raw, result.saved_model_dir, attempt.saved_model_dir, plan, ctx)
    attempt.plan = plan


def _serving_saved_model(raw, raw_dir: Path, out_dir: Path, plan: SignaturePlan, ctx: AttemptContext) -> None:
    """Write the serving SavedModel around onnx2tf's, or take the one written earlier around the same
    files with the same plan from the cache (~0.6 s of tracing and saving; its parity is checked next)."""
    cache = ctx.prepared.cache
    key = None
    if cache.root is not None:
        key = cache.key("serving", {"raw": directory_digest(raw_dir), "plan": plan.to_json(), "rule": SERVING_RULE,
                                    "specs": [s.to_json() for s in ctx.specs]}, ("tensorflow",))
        if cache.fetch("serving", key, out_dir) is not None:
            return
    write_serving_saved_model(raw, out_dir, plan, ctx.specs)
    if key is not None:
        cache.store("serving", key, sorted(out_dir.iterdir()))


def _finish_tflite_files(attempt: Attempt, ctx: AttemptContext) -> None:
    """Both .tflite files finished (the one step the quantized files take too); a failure is recorded
    for their parity targets, the SavedModel still checked."""
    request = FinishRequest(attempt.plan.inputs, ctx.output_specs, ctx.samples[0], attempt.candidate.expected,
                            ctx.layouts.tflite)
    try:
        fp32 = finish_tflite(attempt.tflite_path("float32"), request)
        # both files have the same tensors: the fp32 file's binding signs the fp16 one
        fp16 = finish_tflite(attempt.tflite_path("float16"), request, outputs=fp32.raw_outputs)
        exact = exact_shape_constants(attempt.tflite_path("float16"), attempt.tflite_path("float32"))
    except (ConversionError, ArtifactLoadError, ArtifactRunError) as exc:
        attempt.tflite_error = exc.message
        return
    attempt.tflite = fp32
    attempt.rewrites += [note for note in fp32.rewrites + fp16.rewrites if note not in attempt.rewrites]
    if exact:
        attempt.rewrites.append(RewriteNote("exact_shape_constants", FIX, f"tflite_float16: {exact} float constant(s) "
                                            "kept at float32 (size arithmetic, or beyond half precision)"))


def _check_artifacts(attempt: Attempt, ctx: AttemptContext) -> list[ParityEntry]:
    """Parity of the SavedModel and both TFLite files; a file TFLite cannot run fails its target."""
    with SavedModelRunner(attempt.saved_model_dir, attempt.plan) as runner:
        entries = [check_target("saved_model", runner, ctx.samples, attempt.candidate.expected, "fp32",
                                ctx.tolerances)]
    if attempt.tflite is None:
        return entries + [failed_target(t, "fp32", ctx.samples, attempt.tflite_error) for t, _ in TFLITE_PRECISIONS]
    for target, precision in TFLITE_PRECISIONS:
        try:
            entries.append(_check_tflite(attempt, ctx, target, precision))
        except ArtifactLoadError as exc:
            entries.append(failed_target(target, "fp32", ctx.samples, exc.message))
    return entries


def _check_tflite(attempt: Attempt, ctx: AttemptContext, target: str, precision: str) -> ParityEntry:
    """One signed .tflite file; the fp16 one against the fp32 file with its weights rounded to half."""
    bindings = attempt.tflite.bindings
    expected = attempt.candidate.expected
    if target == HALF_TARGET:
        return check_fp16_file(attempt.tflite_path(precision), attempt.tflite_path("float32"), bindings, ctx.samples,
                               expected, ctx.tolerances, attempt.directory / "reference")
    with TfliteRunner(attempt.tflite_path(precision), *bindings) as runner:
        return check_target(target, runner, ctx.samples, expected, "fp32", ctx.tolerances)
