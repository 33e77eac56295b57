"""The strategy ladder: ways to get onnx2tf to convert a graph, tried in order until parity holds.

The raw tools fail on many real models: a dynamic batch breaks onnx2tf on attention with masks,
recurrent layers and transposed convolutions; onnxsim sometimes hurts; onnx2tf's NCW→NWC input
transposition breaks sequence models. Each rung changes one of these; a rung only counts when
the artifacts it produces match onnxruntime.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from torch2tf.convert.onnx_to_tf import Onnx2TfRequest, copy_onnx, run_onnx2tf
from torch2tf.convert.rewrites import apply_rewrites
from torch2tf.convert.simplify import simplify_in_place
from torch2tf.convert.signature import (SignaturePlan, TensorBinding, plan_inputs, plan_outputs,
                                        read_raw_signature, run_raw, write_serving_saved_model)
from torch2tf.errors import ConversionError
from torch2tf.model_spec import InputSpec
from torch2tf.validate.compare import Tolerances
from torch2tf.validate.parity import Sample, check_target, failed_target, summarize_failures


@dataclass(frozen=True)
class Strategy:
    name: str
    static_batch: bool = False  # fix the batch to 1 for onnx2tf; the signature maps over rows
    use_onnxsim: bool = True
    keep_input_layout: bool = False  # no NC…→N…C transposition of rank 3-5 inputs
    unroll_rnn: bool = False  # unroll LSTM/GRU/RNN loops: TFLite builtins instead of Flex TensorList ops


RECURRENT_OPS = {"LSTM", "GRU", "RNN"}


def ladder(specs: list[InputSpec], op_types: set[str] = frozenset()) -> list[Strategy]:
    """The rungs that make sense for these inputs and operators, cheapest and most native first."""
    dynamic = any(s.dynamic_batch for s in specs)
    has_channels = any(3 <= len(s.shape) <= 5 for s in specs)
    # A recurrent loop becomes a TensorList While loop, which TFLite runs only with the Flex
    # delegate: unroll it (the sequence length is static) so every artifact runs everywhere.
    unroll = bool(RECURRENT_OPS & set(op_types))
    base = "dynamic-batch" if dynamic else "static-shape"
    rungs = [Strategy(base + ("+rnn-unroll" if unroll else ""), unroll_rnn=unroll)]
    if dynamic:
        rungs.append(Strategy("static-batch" + ("+rnn-unroll" if unroll else ""), static_batch=True,
                              unroll_rnn=unroll))
    rungs.append(Strategy(rungs[-1].name + "+no-onnxsim", static_batch=dynamic, use_onnxsim=False,
                          unroll_rnn=unroll))
    if has_channels:
        rungs.append(Strategy(rungs[-2].name + "+keep-layout", static_batch=dynamic,
                              keep_input_layout=True, unroll_rnn=unroll))
    return rungs


def kept_layout_inputs(strategy: Strategy, specs: list[InputSpec]) -> list[str]:
    return [s.name for s in specs if strategy.keep_input_layout and 3 <= len(s.shape) <= 5]


def prepare_onnx2tf_input(onnx_path: Path, directory: Path, strategy: Strategy,
                          specs: list[InputSpec]) -> tuple[Path, list[str]]:
    """The exact graph onnx2tf gets for ``strategy``: a copy, onnxsim'd if asked, then rewritten."""
    source = copy_onnx(onnx_path, directory)
    static = {s.name: [1 if d is None else d for d in s.shape] for s in specs} if strategy.static_batch else None
    if strategy.use_onnxsim:
        simplify_in_place(source, static)
    return source, apply_rewrites(source)


@dataclass
class Attempt:
    exporter: str
    strategy: Strategy
    status: str = "failed"  # ok | failed | parity-failed
    reason: str = ""
    seconds: float = 0.0
    directory: Path | None = None
    plan: SignaturePlan | None = None
    tflite_outputs: list[TensorBinding] = field(default_factory=list)
    parity: list[dict] = field(default_factory=list)
    rewrites: list[str] = field(default_factory=list)
    parity_seconds: float = 0.0
    export_check: dict | None = None  # torch vs onnxruntime for the ONNX this attempt converted
    onnx_path: Path | None = None
    expected: dict | None = None  # onnxruntime's outputs on the samples, for that ONNX

    @property
    def produced_artifacts(self) -> bool:
        return self.plan is not None

    def failed_targets(self) -> int:
        return sum(1 for p in self.parity if not p["passed"])

    @property
    def onnx2tf_input(self) -> Path:
        return self.directory / "onnx" / "model.onnx"

    def to_json(self) -> dict:
        return {"exporter": self.exporter, "strategy": self.strategy.name, "status": self.status,
                "reason": self.reason, "seconds": round(self.seconds, 2), "rewrites": self.rewrites}

    @property
    def saved_model_dir(self) -> Path:
        return self.directory / "saved_model"

    def tflite_path(self, precision: str) -> Path:
        return self.directory / "raw" / f"model_{precision}.tflite"


@dataclass
class AttemptContext:
    """What every attempt needs; built once per run."""

    specs: list[InputSpec]
    output_specs: list[InputSpec]
    samples: list[Sample]
    expected: dict  # sample name → reference outputs (onnxruntime)
    layout: str
    seed: int
    work_dir: Path
    tolerances: Tolerances | None = None


TFLITE_PRECISIONS = (("tflite_float32", "float32", "fp32"), ("tflite_float16", "float16", "fp16"))


def try_strategy(onnx_path: Path, exporter: str, strategy: Strategy, ctx: AttemptContext) -> Attempt:
    """Convert with one strategy, build the serving signature, check parity. Never raises for the model's faults."""
    import time

    from torch2tf.validate.runners import SavedModelRunner, TfliteRunner

    start = time.perf_counter()
    attempt = Attempt(exporter, strategy)
    directory = ctx.work_dir / f"{exporter}-{strategy.name}"
    shutil.rmtree(directory, ignore_errors=True)
    attempt.directory = directory
    try:
        source, attempt.rewrites = prepare_onnx2tf_input(onnx_path, directory / "onnx", strategy, ctx.specs)
        keep = kept_layout_inputs(strategy, ctx.specs)
        request = Onnx2TfRequest(onnx_path=str(source), output_dir=str(directory / "raw"),
                                 static_batch=1 if strategy.static_batch else None,
                                 use_onnxsim=False, keep_shape_input_names=keep,
                                 input_shapes={s.name: list(s.shape) for s in ctx.specs}, seed=ctx.seed,
                                 unroll_rnn=strategy.unroll_rnn)
        result = run_onnx2tf(request, directory)
        raw, raw_inputs = read_raw_signature(result.saved_model_dir)
        inputs, raw_batch = plan_inputs(ctx.specs, raw_inputs, keep)
        first = ctx.samples[0]
        raw_outputs = run_raw(raw, inputs, first.feeds, raw_batch)
        outputs = plan_outputs(ctx.output_specs, raw_outputs, ctx.expected[first.name])
        plan = SignaturePlan(inputs, outputs, raw_batch, ctx.layout)
        write_serving_saved_model(raw, attempt.saved_model_dir, plan, ctx.specs)
        attempt.plan = plan
        parity_start = time.perf_counter()
        with SavedModelRunner(attempt.saved_model_dir, plan) as runner:
            attempt.parity.append(check_target("saved_model", runner, ctx.samples, ctx.expected, "fp32",
                                               tolerances=ctx.tolerances))
        attempt.parity += _check_tflite(attempt, inputs, ctx)
        attempt.parity_seconds = time.perf_counter() - parity_start
    except ConversionError as exc:
        attempt.reason = exc.message
        attempt.seconds = time.perf_counter() - start
        return attempt
    except Exception as exc:  # TF/LiteRT raise their own types on graphs onnx2tf mis-built: next rung
        text = " ".join(str(exc).split())[:300]
        attempt.reason = f"{type(exc).__name__}: {text}"
        attempt.seconds = time.perf_counter() - start
        return attempt
    attempt.seconds = time.perf_counter() - start
    if attempt.failed_targets():
        attempt.status = "parity-failed"
        attempt.reason = summarize_failures(attempt.parity)
    else:
        attempt.status = "ok"
    return attempt


def plan_tflite_outputs(path: Path, inputs: list[TensorBinding], output_specs: list[InputSpec], sample: Sample,
                        expected: dict) -> list[TensorBinding]:
    """onnx2tf names each .tflite file's outputs its own way: bind them by value on one sample."""
    from torch2tf.validate.runners import TfliteRunner

    with TfliteRunner(path, inputs, []) as probe:
        return plan_outputs(output_specs, probe.run_raw(sample.feeds), expected[sample.name])


def _check_tflite(attempt: Attempt, inputs: list[TensorBinding], ctx: AttemptContext) -> list[dict]:
    """Parity of both TFLite files; a file TFLite cannot run (e.g. Flex ops) fails its target."""
    from torch2tf.validate.runners import TfliteRunner

    try:
        attempt.tflite_outputs = plan_tflite_outputs(attempt.tflite_path("float32"), inputs, ctx.output_specs,
                                                     ctx.samples[0], ctx.expected)
    except ConversionError as exc:
        return [failed_target(target, preset, ctx.samples, exc.message) for target, _, preset in TFLITE_PRECISIONS]
    entries = []
    for target, precision, preset in TFLITE_PRECISIONS:
        try:
            with TfliteRunner(attempt.tflite_path(precision), inputs, attempt.tflite_outputs) as runner:
                entries.append(check_target(target, runner, ctx.samples, ctx.expected, preset,
                                            tolerances=ctx.tolerances))
        except ConversionError as exc:
            entries.append(failed_target(target, preset, ctx.samples, exc.message))
    return entries
