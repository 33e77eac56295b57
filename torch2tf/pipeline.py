"""The convert pipeline: load → export → check ONNX → convert (strategy ladder) → parity → write.

Every stage is timed and reported through ``on_event``; manifest.json is rewritten after each
stage. Results land in a staging directory renamed into place at the end: after a failure
(exit 1) nothing is left at the output path; after a parity failure (exit 3) the artifacts are
written with a report that says where they differ.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from torch2tf.convert.torch_to_onnx import EXPORTERS
from torch2tf.artifacts import StagingDir, check_output_dir, tflite_variants, write_manifest
from torch2tf.errors import ConversionError, InputSpecError, Torch2TFError, UsageError
from torch2tf.model_spec import InputSpec, LoadedModel, load_model, resolve_input_specs

if TYPE_CHECKING:
    from torch2tf.convert.compatibility import Compatibility
    from torch2tf.convert.quantize import QuantizeOptions
from torch2tf.validate.inputs import VALIDATION_BATCHES, make_inputs, slice_batch
from torch2tf.validate.parity import Sample, check_target, failed_target
from torch2tf.validate.report import Report

DEFAULT_OPSET = 18
FALLBACK_OPSET = 17  # the TorchScript exporter's retry uses another opset too


@dataclass
class ConvertOptions:
    model: str
    output: Path
    inputs: list[InputSpec] = field(default_factory=list)
    input_data: Path | None = None
    force: bool = False
    opset: int = DEFAULT_OPSET
    layout: str = "nchw"
    seed: int = 0
    output_names: list[str] | None = None
    work_dir: Path | None = None  # keep intermediate files (every attempt, onnx2tf logs) here
    tolerances: list[str] = field(default_factory=list)  # overrides, e.g. "fp32:atol=1e-5"
    localize: bool = True  # on a parity failure, find the first differing ONNX node
    tflite_builtins_only: bool = False  # Flex or custom TFLite ops are a failure
    op_check: bool = True  # stop before onnx2tf when the support table says an op cannot convert
    quantize: QuantizeOptions | None = None  # extra quantized TFLite variants
    strategy: str | None = None  # try only this rung of the ladder (e.g. "static-batch")


@dataclass
class StageEvent:
    stage: str
    status: str  # start | ok | failed | info
    seconds: float = 0.0
    detail: str = ""


@dataclass
class ConvertOutcome:
    report: Report
    output: Path

    @property
    def passed(self) -> bool:
        return self.report.passed


def load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise UsageError(f"--input-data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception as exc:
        raise InputSpecError(f"cannot read {path} as .npz: {exc}") from exc


class ConvertPipeline:
    def __init__(self, options: ConvertOptions, on_event: Callable[[StageEvent], None] | None = None) -> None:
        self.options = options
        self.on_event = on_event or (lambda event: None)
        self.report = Report(model=options.model)
        from torch2tf.validate.compare import Tolerances

        try:
            self.tolerances = Tolerances.from_overrides(options.tolerances)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        self._staging: StagingDir | None = None

    # -- stage bookkeeping -------------------------------------------------------------------
    def _stage(self, name: str, fn: Callable[[], str | tuple[str, float] | None]):
        self.on_event(StageEvent(name, "start"))
        start = time.perf_counter()
        try:
            result = fn() or ""
        except Torch2TFError as exc:
            seconds = time.perf_counter() - start
            self.report.stages.append({"name": name, "status": "failed", "seconds": seconds, "detail": exc.message})
            self.on_event(StageEvent(name, "failed", seconds, exc.message))
            raise
        seconds = time.perf_counter() - start
        # A stage whose work ran inside an earlier one reports (detail, seconds measured there).
        detail, seconds = result if isinstance(result, tuple) else (result, seconds)
        self.report.stages.append({"name": name, "status": "ok", "seconds": seconds, "detail": detail})
        self.on_event(StageEvent(name, "ok", seconds, detail))
        if self._staging is not None:
            write_manifest(self._staging.path, self._manifest_info(), self.report.versions)

    def run(self) -> ConvertOutcome:
        opts = self.options
        if opts.layout not in ("nchw", "nhwc"):
            raise UsageError(f"--layout must be nchw or nhwc, not {opts.layout!r}")
        check_output_dir(opts.output, opts.force)
        self.arrays = load_npz(opts.input_data) if opts.input_data else None
        self._staging = StagingDir(opts.output)
        if opts.work_dir is not None:
            opts.work_dir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="torch2tf-work-", dir=opts.work_dir)).resolve()
        try:
            self._stage("load", self._load)
            self._stage("export", self._export)
            self._stage("check_onnx", self._check_onnx)
            self._stage("convert", self._convert)
            self._stage("parity", self._parity)
            if self.options.localize and _needs_localization(self.report.parity):
                self._stage("localize", self._localize)
            if self.options.quantize is not None:
                self._stage("quantize", self._quantize)
            self._stage("tflite_ops", self._tflite_truth)
            self._stage("write", self._write)
            self.report.write(self._staging.path)
            write_manifest(self._staging.path, self._manifest_info(), self.report.versions)
            output = self._staging.commit()
        except BaseException:
            self._staging.discard()
            raise
        finally:
            if opts.work_dir is None:
                shutil.rmtree(self.work, ignore_errors=True)
        return ConvertOutcome(self.report, output)

    # -- stages --------------------------------------------------------------------------------
    def _load(self) -> str:
        opts = self.options
        self.loaded: LoadedModel = load_model(opts.model)
        self.specs = resolve_input_specs(self.loaded, opts.inputs, self.arrays)
        self.report.inputs = [s.to_json() for s in self.specs]
        return f"{self.loaded.kind}; inputs " + ", ".join(f"{s.name}:{s.shape_text()}:{s.dtype}" for s in self.specs)

    def _vocab_sizes(self) -> dict[str, int]:
        if self.loaded.kind == "onnx":
            from torch2tf.convert.onnx_checks import embedding_sizes

            return embedding_sizes(self.loaded.onnx_path)
        sizes = [m.num_embeddings for m in self.loaded.module.modules() if hasattr(m, "num_embeddings")]
        if not sizes:
            return {}
        return {s.name: min(sizes) for s in self.specs if s.dtype.startswith("int")}

    def _make_samples(self) -> list[Sample]:
        vocab = self._vocab_sizes()
        batches = VALIDATION_BATCHES if any(s.dynamic_batch for s in self.specs) else (None,)
        samples = []
        for i, batch in enumerate(batches):
            size = batch or 1
            label = f"random-batch{size}" if batch else "random"
            samples.append(Sample(label, make_inputs(self.specs, size, self.options.seed + i, vocab)))
        if self.arrays:
            samples.append(Sample("input-data", {s.name: self.arrays[s.name] for s in self.specs}))
        return samples

    def _export(self) -> str:
        from torch2tf.convert.torch_to_onnx import export_onnx, output_names_of, run_forward

        self.samples = self._make_samples()
        self.exports: dict[str, Path] = {}
        if self.loaded.kind == "onnx":
            self.onnx_path = self._normalize_onnx(self.loaded.onnx_path)
            self.report.export = {"exporter": "none (ONNX given)", "attempts": []}
            self.exports["onnx"] = self.onnx_path
            return f"using {self.loaded.onnx_path}"
        for sample in self.samples:
            run_forward(self.loaded.module, sample.feeds)
        names = self.options.output_names or output_names_of(self.loaded, self.samples[0].feeds)
        self.output_names = names
        result = export_onnx(self.loaded, self.specs, self.samples[0].feeds, self._export_path("primary"),
                             self.options.opset, names)
        self.onnx_path = result.path
        self.exports[result.exporter] = result.path
        written = _default_opset(result.path)
        self.report.export = {"exporter": result.exporter, "opset": written, "requested_opset": self.options.opset,
                              "attempts": result.attempts}
        if written != self.options.opset:
            # The dynamo exporter writes opset 18 at least; onnx's version converter breaks its graphs.
            self.report.notes.append(f"--opset {self.options.opset} was requested; the {result.exporter} "
                                     f"exporter wrote opset {written}")
        fell_back = [a for a in result.attempts if a["status"] != "ok"]
        return f"{result.exporter}" + (f" (after {fell_back[0]['exporter']} failed)" if fell_back else "")

    def _export_path(self, label: str) -> Path:
        directory = self.work / f"export-{label}"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / "model.onnx"

    def _normalize_onnx(self, source: Path) -> Path:
        """Re-save a user's ONNX as model.onnx (+ model.onnx.data) so every later step sees one layout."""
        import onnx

        try:
            model = onnx.load(str(source))
        except Exception as exc:
            raise UsageError(f"cannot read ONNX file {source}: {str(exc).splitlines()[0]}") from exc
        path = self._export_path("primary")
        large = model.ByteSize() > 1 << 30
        onnx.save(model, str(path), save_as_external_data=large, location="model.onnx.data" if large else None)
        return path

    def _check_onnx(self) -> str:
        from torch2tf.convert.compatibility import inventory, operators_json
        from torch2tf.convert.onnx_checks import check_and_infer_shapes, onnx_output_specs

        check_and_infer_shapes(self.onnx_path)
        self.output_specs = onnx_output_specs(self.onnx_path)
        self.report.outputs = [s.to_json() for s in self.output_specs]
        self.compatibility = inventory(self.onnx_path, self.options.tflite_builtins_only)
        self.report.operators = operators_json(self.compatibility)
        nodes = sum(op.count for op in self.compatibility.ops)
        if self.options.op_check and not self.compatibility.ok:
            raise ConversionError("operators that will not convert:\n" + self.compatibility.blocking_summary()
                                  + "\n\n" + self.compatibility.table(),
                                  hint="--no-op-check tries anyway")
        return f"{nodes} nodes, {len(self.compatibility.ops)} op types"

    def run_check(self) -> Compatibility:
        """``torch2tf check``: load, export, inventory — no conversion, nothing written."""
        from torch2tf.convert.compatibility import inventory

        self.arrays = load_npz(self.options.input_data) if self.options.input_data else None
        self.work = Path(tempfile.mkdtemp(prefix="torch2tf-check-")).resolve()
        try:
            self._stage("load", self._load)
            self._stage("export", self._export)
            return inventory(self.onnx_path, self.options.tflite_builtins_only)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)

    def _reference(self, onnx_path: Path) -> dict:
        from torch2tf.validate.parity import reference_outputs
        from torch2tf.validate.runners import OrtRunner

        with OrtRunner(onnx_path) as ort:
            return reference_outputs(ort, self.samples)

    def _torch_check(self, onnx_path: Path, expected: dict) -> dict | None:
        """torch vs onnxruntime on the same samples: the export itself can be wrong."""
        if self.loaded.module is None:
            return None
        from torch2tf.validate.runners import OrtRunner, TorchRunner

        torch_runner = TorchRunner(self.loaded.module, [s.name for s in self.specs], self.output_names)
        torch_outputs = {s.name: torch_runner.infer(s.feeds) for s in self.samples}
        with OrtRunner(onnx_path) as ort:
            return check_target("onnxruntime", ort, self.samples, torch_outputs, "fp32", reference_name="torch",
                                tolerances=self.tolerances)

    def _convert(self) -> str:
        """Walk exporters × strategies until one conversion holds parity.

        An export that already differs from torch is skipped while another exporter may do
        better; if none does, the first export is converted anyway and the report says so.
        """
        self.attempts: list = []
        chosen = self._ladder_over_exporters(require_export_parity=True)
        if chosen is None and self.mismatched_exports:
            chosen = self._ladder_over_exporters(require_export_parity=False,
                                                 exporters=self.mismatched_exports[:1])
        attempts = self.attempts
        self.report.conversion = {"attempts": [a.to_json() for a in attempts]}
        if chosen is None:
            produced = [a for a in attempts if a.produced_artifacts]
            if not produced:
                reasons = "; ".join(f"{a.exporter}/{a.strategy.name}: {a.reason}" for a in attempts)
                raise ConversionError(f"no conversion strategy worked ({reasons})",
                                      hint="see `torch2tf check` for operators onnx2tf cannot convert")
            chosen = min(produced, key=lambda a: a.failed_targets())
        self.chosen = chosen
        self.report.export["exporter"] = chosen.exporter
        self.report.conversion.update({"strategy": chosen.strategy.name, "exporter": chosen.exporter,
                                       "raw_batch": chosen.plan.raw_batch, "layout": self.options.layout,
                                       "rewrites": chosen.rewrites})
        return f"{chosen.exporter}/{chosen.strategy.name}" + ("" if chosen.status == "ok" else f" ({chosen.status})")

    def _ladder_over_exporters(self, require_export_parity: bool, exporters: list[str] | None = None):
        from torch2tf.convert.strategies import AttemptContext, ladder, try_strategy

        if exporters is None:
            self.mismatched_exports = []
            failed = {a["exporter"] for a in self.report.export.get("attempts", []) if a["status"] != "ok"}
            exporters = list(self.exports) + [e for e in EXPORTERS if e not in self.exports and e not in failed
                                              and self.loaded.kind != "onnx"]
        for exporter in exporters:
            onnx_path = self._onnx_for(exporter)
            if onnx_path is None:
                continue
            expected = self._reference(onnx_path)
            export_check = self._torch_check(onnx_path, expected)
            if require_export_parity and export_check is not None and not export_check["passed"]:
                self.mismatched_exports.append(exporter)
                self.on_event(StageEvent("convert", "info", 0.0, f"{exporter} export differs from torch: "
                                         + _failure_text(export_check)))
                continue
            ctx = AttemptContext(self.specs, self.output_specs, self.samples, expected,
                                 self.options.layout, self.options.seed, self.work, self.tolerances)
            rungs = ladder(self.specs, {o["op_type"] for o in self.report.operators})
            if self.options.strategy:
                rungs = [r for r in rungs if r.name == self.options.strategy]
                if not rungs:
                    names = ", ".join(r.name for r in ladder(self.specs, {o["op_type"] for o in self.report.operators}))
                    raise UsageError(f"--strategy {self.options.strategy!r} does not apply here; try one of: {names}")
            for strategy in rungs:
                attempt = try_strategy(onnx_path, exporter, strategy, ctx)
                attempt.export_check = export_check
                attempt.onnx_path = onnx_path
                attempt.expected = expected
                if export_check is not None and not export_check["passed"]:
                    attempt.status = "parity-failed"
                    attempt.reason = "export differs from torch; " + attempt.reason
                self.attempts.append(attempt)
                self.on_event(StageEvent("convert", "info", attempt.seconds,
                                         f"{exporter}/{strategy.name}: {attempt.status}"
                                         + (f" — {attempt.reason}" if attempt.reason else "")))
                if attempt.status == "ok":
                    return attempt
        return None

    def _onnx_for(self, exporter: str) -> Path | None:
        if exporter in self.exports:
            return self.exports[exporter]
        from torch2tf.convert.torch_to_onnx import export_onnx

        try:
            result = export_onnx(self.loaded, self.specs, self.samples[0].feeds, self._export_path(exporter),
                                 FALLBACK_OPSET, self.output_names, exporters=(exporter,))
        except Torch2TFError as exc:
            self.on_event(StageEvent("convert", "info", 0.0, f"{exporter} export failed: {exc.message}"))
            self.report.export.setdefault("attempts", []).append(
                {"exporter": exporter, "status": "failed", "reason": exc.message})
            return None
        from torch2tf.convert.onnx_checks import check_and_infer_shapes

        check_and_infer_shapes(result.path)
        self.report.export.setdefault("attempts", []).append(
            {"exporter": exporter, "status": "ok", "reason": f"fallback, opset {FALLBACK_OPSET}"})
        self.exports[exporter] = result.path
        return result.path

    def _parity(self) -> str:
        chosen = self.chosen
        parity = list(chosen.parity)
        if chosen.export_check is not None:
            parity.insert(0, chosen.export_check)
        self.report.parity = parity
        failed = [p["target"] for p in parity if not p["passed"]]
        summary = f"{len(parity) - len(failed)}/{len(parity)} targets within tolerance"
        # Parity ran inside the chosen conversion attempt (that is how the ladder picks a rung).
        return summary + (f"; failing: {', '.join(failed)}" if failed else ""), chosen.parity_seconds

    def _localize(self) -> str:
        from torch2tf.convert.strategies import kept_layout_inputs
        from torch2tf.validate.localize import LocalizeRequest, localize_divergence

        chosen = self.chosen
        request = LocalizeRequest(
            reference_onnx=chosen.onnx_path, converted_onnx=chosen.onnx2tf_input, specs=self.specs,
            feeds=self.samples[0].feeds if self.samples[0].feeds else {}, static_batch=chosen.strategy.static_batch,
            keep_shape_input_names=kept_layout_inputs(chosen.strategy, self.specs),
            unroll_rnn=chosen.strategy.unroll_rnn, work_dir=self.work / "localize", seed=self.options.seed)
        divergence = localize_divergence(request)
        self.report.localization = divergence.to_json() if divergence else {"found": False}
        return divergence.describe() if divergence else "no single ONNX node differs on its own"

    def _quantize(self) -> str:
        """Quantized variants, validated with the int8 preset; a failed int8 conversion keeps the floats."""
        from torch2tf.convert.quantize import load_calibration, quantize
        from torch2tf.convert.strategies import plan_tflite_outputs
        from torch2tf.validate.runners import TfliteRunner

        options = self.options.quantize
        calibration = load_calibration(options, self.specs, self.options.seed) if "int8" in options.modes else None
        chosen = self.chosen
        perms = {b.name: b.perm for b in chosen.plan.inputs}
        self.quantized: dict[str, Path] = {}
        produced: dict[str, Path] = {}
        for mode in options.modes:
            try:
                produced.update(quantize(chosen.onnx2tf_input, self.work, mode, options, chosen.strategy, self.specs,
                                         perms, calibration, self.options.seed))
            except ConversionError as exc:
                self.report.notes.append(f"{mode} quantization failed, float artifacts kept: {exc.message}")
        self.report.notes += options.notes
        expected = chosen.expected
        self.quantized_outputs = {}
        for target, path in produced.items():
            try:
                outputs = plan_tflite_outputs(path, chosen.plan.inputs, self.output_specs, self.samples[0], expected)
                self.quantized_outputs[target] = outputs
                with TfliteRunner(path, chosen.plan.inputs, outputs) as runner:
                    entry = check_target(target, runner, self.samples, expected, "int8", tolerances=self.tolerances)
            except ConversionError as exc:
                entry = failed_target(target, "int8", self.samples, exc.message)
            entry["gating"] = options.strict
            self.report.parity.append(entry)
            self.quantized[target] = path
        verdicts = [f"{p['target']} {'ok' if p['passed'] else 'below the int8 preset'}"
                    for p in self.report.parity if p["target"] in produced]
        failed = [n for n in self.report.notes if "quantization failed" in n]
        return ", ".join(verdicts + failed)

    def _tflite_truth(self) -> str:
        """What the produced .tflite files really contain; Flex/custom fail with --tflite-builtins-only."""
        from torch2tf.convert.tflite_ops import read_tflite_ops

        summaries = {}
        files = {f"tflite_{p}": self.chosen.tflite_path(p) for p in ("float32", "float16")}
        files.update(getattr(self, "quantized", {}))
        for target, path in files.items():
            ops = read_tflite_ops(path)
            summaries[target] = ops.summary()
            self.report.operators += [{"op_type": name, "count": count, "status": ops.status_of(name), "note": "",
                                       "target": target} for name, count in sorted(ops.counts.items())]
        self.report.conversion["tflite"] = summaries
        needs = sorted({op for s in summaries.values() for op in s["flex"] + s["custom"]})
        if needs and self.options.tflite_builtins_only:
            raise ConversionError(f"the TFLite files need non-builtin ops: {', '.join(needs)}",
                                  hint="drop --tflite-builtins-only to accept the Flex delegate")
        first = summaries["tflite_float32"]
        return (f"{sum(first['ops'].values())} TFLite ops, {first['transpose_count']} TRANSPOSE, "
                + ("builtin only" if not needs else f"needs {', '.join(needs)}"))

    def _write(self) -> str:
        staging = self._staging.path
        chosen = self.chosen
        onnx_path = chosen.onnx_path
        for path in (onnx_path, onnx_path.with_name(onnx_path.name + ".data")):
            if path.exists():
                shutil.copy2(path, staging / path.name)
        shutil.copytree(chosen.saved_model_dir, staging / "saved_model")
        (staging / "tflite").mkdir()
        produced = {f"tflite_{p}": chosen.tflite_path(p) for p in ("float32", "float16")}
        produced.update(getattr(self, "quantized", {}))
        for target, variant in self._tflite_variants().items():
            shutil.copy2(produced[target], staging / variant["path"])
        return str(self.options.output)

    def _tflite_variants(self) -> dict:
        strict = bool(self.options.quantize and self.options.quantize.strict)
        variants = tflite_variants(list(getattr(self, "quantized", {})), strict)
        for target, outputs in getattr(self, "quantized_outputs", {}).items():
            variants[target]["outputs"] = [vars(b) for b in outputs]
        return variants

    def _manifest_info(self) -> dict:
        info = {"model": self.options.model, "stages": self.report.stages, "inputs": self.report.inputs,
                "outputs": self.report.outputs, "seed": self.options.seed}
        chosen = getattr(self, "chosen", None)
        if chosen is not None and chosen.plan is not None:
            info["signature"] = chosen.plan.to_json()
            info["tflite"] = {"inputs": [vars(b) for b in chosen.plan.inputs],
                              "outputs": [vars(b) for b in chosen.tflite_outputs],
                              "variants": self._tflite_variants()}
            info["strategy"] = {"exporter": chosen.exporter, **asdict(chosen.strategy)}
        return info


def _failure_text(entry: dict) -> str:
    from torch2tf.validate.parity import summarize_failures

    return summarize_failures([entry])


def _default_opset(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _needs_localization(parity: list[dict]) -> bool:
    """fp32 artifacts that fail point at a conversion error worth localizing (fp16 drift does not)."""
    return any(not p["passed"] and p["target"] in ("saved_model", "tflite_float32") for p in parity)
