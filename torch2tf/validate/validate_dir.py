"""``torch2tf validate DIR``: re-run parity on the artifacts of a convert output directory.

The reference is onnxruntime on DIR/model.onnx; the targets are the SavedModel (through
serving_default, as TF Serving calls it) and each TFLite file, with the I/O bindings recorded in
manifest.json. Results replace the parity section of DIR/report.json and report.md.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from torch2tf.artifacts import manifest_tflite_variants, read_manifest, sha256_of
from torch2tf.convert.signature import SignaturePlan, TensorBinding
from torch2tf.errors import ConversionError, OutputDirError, UsageError
from torch2tf.model_spec import InputSpec, check_arrays_match
from torch2tf.validate.compare import Tolerances
from torch2tf.validate.inputs import make_inputs
from torch2tf.validate.parity import Sample, check_target, failed_target, reference_outputs
from torch2tf.validate.report import SCHEMA_VERSION, Report

DEFAULT_REGRESSION_FACTOR = 2.0
# Errors below this are noise: a regression needs to exceed factor × max(baseline, floor).
REGRESSION_FLOOR = 1e-6


@dataclass
class ValidateOptions:
    directory: Path
    input_data: Path | None = None
    samples: int = 2
    tolerances: list[str] = field(default_factory=list)
    baseline: Path | None = None
    regression_factor: float = DEFAULT_REGRESSION_FACTOR
    localize: bool = True
    seed: int = 0


def validate_directory(options: ValidateOptions, on_stage: Callable[[str, float, str], None] | None = None) -> Report:
    """Validate DIR; return the new report (also written into DIR). Raise typed errors on bad input."""
    on_stage = on_stage or (lambda *a: None)
    directory = options.directory
    if not directory.is_dir():
        raise UsageError(f"no such directory: {directory}")
    manifest = read_manifest(directory)
    old = _read_report(directory / "report.json")
    baseline = _read_report(options.baseline) if options.baseline else None
    if "signature" not in manifest or "tflite" not in manifest:
        raise OutputDirError(f"{directory}/manifest.json has no I/O bindings: not a complete convert output")
    try:
        tolerances = Tolerances.from_overrides(options.tolerances)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    specs = [InputSpec.from_json(i) for i in manifest["inputs"]]
    plan = _plan_from_json(manifest["signature"])
    tflite_outputs = [TensorBinding(**b) for b in manifest["tflite"]["outputs"]]

    report = Report(model=old["model"], inputs=old["inputs"], outputs=old.get("outputs", []),
                    operators=old.get("operators", []), export=old.get("export", {}),
                    conversion=old.get("conversion", {}))
    report.notes += _changed_artifacts(directory, manifest)
    start = time.perf_counter()
    samples = _samples(specs, options, directory)
    from torch2tf.validate.runners import OrtRunner, SavedModelRunner, TfliteRunner

    with OrtRunner(directory / "model.onnx") as ort:
        expected = reference_outputs(ort, samples)
    torch_check = [p for p in old.get("parity", []) if p.get("reference") == "torch"]
    for entry in torch_check:  # no torch model here: keep convert's export check, marked as such
        report.parity.append({**entry, "carried_over": True})
    with SavedModelRunner(directory / "saved_model", plan) as runner:
        report.parity.append(check_target("saved_model", runner, samples, expected, "fp32", tolerances=tolerances))
    for target, variant in manifest_tflite_variants(manifest).items():
        preset = variant["preset"]
        try:
            outputs = [TensorBinding(**b) for b in variant["outputs"]] if "outputs" in variant else tflite_outputs
            with TfliteRunner(directory / variant["path"], plan.inputs, outputs) as runner:
                entry = check_target(target, runner, samples, expected, preset, tolerances=tolerances)
        except ConversionError as exc:
            if "cannot load" in exc.message:
                raise
            entry = failed_target(target, preset, samples, exc.message)
        if not variant.get("gating", True):
            entry["gating"] = False
        report.parity.append(entry)
    seconds = time.perf_counter() - start
    report.stages.append({"name": "validate", "status": "ok", "seconds": seconds,
                          "detail": f"{len(samples)} samples"})
    on_stage("validate", seconds, f"{sum(p['passed'] for p in report.parity)}/{len(report.parity)} comparisons pass")
    if baseline is not None:
        report.regressions = find_regressions(report.parity, baseline["parity"], options.regression_factor)
    if options.localize and any(not p["passed"] and p["target"] in ("saved_model", "tflite_float32")
                                for p in report.parity):
        start = time.perf_counter()
        detail = _localize(directory, manifest, specs, samples[0], report, options.seed)
        on_stage("localize", time.perf_counter() - start, detail)
    _write_report_atomically(directory, report, manifest)
    return report


def find_regressions(parity: list[dict], baseline: list[dict], factor: float) -> list[dict]:
    """Outputs whose max or mean abs error grew by more than ``factor`` against the baseline."""
    before = {(p["target"], o["name"]): o for p in baseline for o in p["outputs"]}
    regressions = []
    for entry in parity:
        for out in entry["outputs"]:
            old = before.get((entry["target"], out["name"]))
            if old is None:
                continue
            for figure in ("max_abs", "mean_abs"):
                limit = factor * max(old[figure], REGRESSION_FLOOR)
                if out[figure] > limit:
                    regressions.append({"target": entry["target"], "output": out["name"], "figure": figure,
                                        "baseline": old[figure], "value": out[figure], "factor": factor})
    return regressions


def _read_report(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UsageError(f"report not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise UsageError(f"{path} has schema_version {version!r}; this torch2tf reads {SCHEMA_VERSION}")
    return data


def _plan_from_json(data: dict[str, Any]) -> SignaturePlan:
    return SignaturePlan([TensorBinding(**b) for b in data["inputs"]], [TensorBinding(**b) for b in data["outputs"]],
                         data["raw_batch"], data.get("layout", "nchw"))


def _changed_artifacts(directory: Path, manifest: dict[str, Any]) -> list[str]:
    notes = []
    for artifact in manifest["artifacts"]:
        path = directory / artifact["path"]
        if artifact["path"].startswith("report."):
            continue
        if not path.is_file():
            raise OutputDirError(f"{artifact['path']} is missing from {directory}")
        if sha256_of(path) != artifact["sha256"]:
            notes.append(f"{artifact['path']} changed since conversion (sha256 differs from manifest.json)")
    return notes


def _samples(specs: list[InputSpec], options: ValidateOptions, directory: Path) -> list[Sample]:
    from torch2tf.convert.onnx_checks import embedding_sizes
    from torch2tf.pipeline import load_npz

    if options.samples < 1:
        raise UsageError("--samples must be at least 1")
    vocab = embedding_sizes(directory / "model.onnx")
    dynamic = any(s.dynamic_batch for s in specs)
    samples = []
    for i in range(options.samples):
        batch = (1, 3)[i % 2] if dynamic else 1
        samples.append(Sample(f"random-{i}-batch{batch}", make_inputs(specs, batch, options.seed + i, vocab)))
    if options.input_data:
        arrays = load_npz(options.input_data)
        check_arrays_match(specs, arrays)
        samples.append(Sample("input-data", {s.name: arrays[s.name] for s in specs}))
    return samples


def _localize(directory: Path, manifest: dict, specs: list[InputSpec], sample: Sample, report: Report,
              seed: int) -> str:
    """Rebuild the graph onnx2tf was given (same strategy, onnxsim, rewrites) and bisect it."""
    from torch2tf.convert.strategies import Strategy, kept_layout_inputs, prepare_onnx2tf_input
    from torch2tf.validate.localize import LocalizeRequest, localize_divergence

    fields = {k: v for k, v in manifest["strategy"].items() if k in Strategy.__dataclass_fields__}
    strategy = Strategy(**fields)
    work = Path(tempfile.mkdtemp(prefix="torch2tf-localize-"))
    try:
        converted, _ = prepare_onnx2tf_input(directory / "model.onnx", work / "onnx", strategy, specs)
        divergence = localize_divergence(LocalizeRequest(
            reference_onnx=directory / "model.onnx", converted_onnx=converted, specs=specs, feeds=sample.feeds,
            static_batch=strategy.static_batch, keep_shape_input_names=kept_layout_inputs(strategy, specs),
            unroll_rnn=strategy.unroll_rnn, work_dir=work / "probes", seed=seed))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.localization = divergence.to_json() if divergence else {"found": False}
    return divergence.describe() if divergence else "no single ONNX node differs on its own"


def _write_report_atomically(directory: Path, report: Report, manifest: dict) -> None:
    previous = json.loads((directory / "report.json").read_text())
    data = report.to_json()
    if "benchmark" in previous:  # a later bench run's figures stay until the next bench
        data["benchmark"] = previous["benchmark"]
    update_report_files(directory, data, manifest)


def update_report_files(directory: Path, report: dict[str, Any], manifest: dict | None = None) -> None:
    """Replace report.json and report.md atomically; refresh only their entries in manifest.json."""
    from torch2tf.validate.report import render_markdown

    manifest = manifest or read_manifest(directory)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=directory))
    try:
        (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (staging / "report.md").write_text(render_markdown(report))
        for name in ("report.json", "report.md"):
            os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Only the report entries are refreshed: a changed artifact must stay visible as changed.
    for artifact in manifest["artifacts"]:
        if artifact["path"] in ("report.json", "report.md"):
            path = directory / artifact["path"]
            artifact.update(sha256=sha256_of(path), size=path.stat().st_size)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
