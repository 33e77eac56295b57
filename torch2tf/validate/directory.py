"""Parity of the artifacts in a convert output directory, re-run from what manifest.json records.

The reference is onnxruntime on DIR/model.onnx; the targets are the SavedModel (through
serving_default, as TF Serving calls it) and each TFLite file, with the I/O bindings recorded in
manifest.json. The caller decides what else to do with a failure (localize it) and writes the report.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.artifacts import (
    manifest_specs,
    manifest_tflite_bindings,
    manifest_tflite_variants,
    manifest_vocab,
    read_manifest,
    sha256_of,
    stale_measurement,
)
from torch2tf.errors import OutputDirError, UsageError
from torch2tf.inputs import Sample, check_arrays_match, load_npz, validation_samples
from torch2tf.specs import SignaturePlan, TensorSpec
from torch2tf.validate.compare import Tolerances
from torch2tf.validate.diff import find_regressions
from torch2tf.validate.half_weights import check_fp16_file
from torch2tf.validate.parity import HALF_TARGET, check_target, run_samples, uninformative_outputs
from torch2tf.validate.report import Report, read_report
from torch2tf.validate.runners import OrtRunner, SavedModelRunner, TfliteRunner
from torch2tf.workspace import owned_dir

DEFAULT_REGRESSION_FACTOR = 2.0


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
    strict: bool = False  # an output whose reference does not vary fails the run


CARRIED_SECTIONS = ("benchmark", "profile")  # measured by bench; kept, stamped, until bench runs again
SERVED_TARGETS = ("served_rest", "served_grpc")  # measured by smoke --update-report against a server


@dataclass
class DirectoryValidation:
    report: Report
    previous: dict[str, Any]  # the report.json found in the directory
    manifest: dict[str, Any]
    specs: list[TensorSpec]
    samples: list[Sample]
    seconds: float


def validate_directory(options: ValidateOptions) -> DirectoryValidation:
    """Re-run parity on DIR; raise typed errors on a broken or foreign directory or bad options."""
    directory = options.directory
    if not directory.is_dir():
        raise UsageError(f"no such directory: {directory}")
    manifest = read_manifest(directory)
    old = read_report(directory / "report.json")
    baseline = read_report(options.baseline) if options.baseline else None
    if "signature" not in manifest or "tflite" not in manifest:
        raise OutputDirError(f"{directory}/manifest.json has no I/O bindings: not a complete convert output")
    try:
        tolerances = Tolerances.from_overrides(options.tolerances)
        tolerances.check_outputs([o["name"] for o in manifest.get("outputs", [])])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    specs = manifest_specs(manifest)
    report = Report(model=old["model"], inputs=old["inputs"], outputs=old.get("outputs", []),
                    operators=old.get("operators", []), export=old.get("export", {}),
                    conversion=old.get("conversion", {}))
    report.notes += _changed_artifacts(directory, manifest)
    start = time.perf_counter()
    samples = _samples(specs, options, manifest)
    report.parity, expected = _parity(directory, manifest, samples, tolerances, old)
    report.uninformative, report.strict = uninformative_outputs(expected, tolerances), options.strict
    report.parity += _kept_served_rows(old, manifest)
    report.carried = {k: old[k] for k in CARRIED_SECTIONS if old.get(k)}
    for section in report.carried:
        if stale_measurement(report.carried[section].get("measured"), manifest):
            report.notes.append(f"the {section} section was measured on artifacts that have changed since "
                                f"(or before measurements were stamped): run bench again")
    seconds = time.perf_counter() - start
    report.stages.append({"name": "validate", "status": "ok", "seconds": seconds, "detail": f"{len(samples)} samples"})
    if baseline is not None:
        report.regressions = find_regressions(report.parity, baseline["parity"], options.regression_factor)
    return DirectoryValidation(report, old, manifest, specs, samples, seconds)


def _kept_served_rows(old: dict, manifest: dict) -> list[dict]:
    """The served rows smoke added: validate does not ask the server again, so it keeps them, marked."""
    kept = []
    for entry in old.get("parity", []):
        if entry.get("target") in SERVED_TARGETS:
            stale = stale_measurement(entry.get("measured"), manifest)
            kept.append({**entry, "carried_over": True, "stale": stale})
    return kept


def _parity(directory: Path, manifest: dict, samples: list[Sample], tolerances: Tolerances,
            old: dict) -> tuple[list[dict], dict]:
    plan = SignaturePlan.from_json(manifest["signature"])
    with OrtRunner(directory / "model.onnx") as ort:
        expected = run_samples(ort, samples)
    # No torch model here: keep convert's export check, marked as such.
    parity = [{**p, "carried_over": True} for p in old.get("parity", []) if p.get("reference") == "torch"]
    with SavedModelRunner(directory / "saved_model", plan) as runner:
        parity.append(check_target("saved_model", runner, samples, expected, "fp32", tolerances))
    variants = manifest_tflite_variants(manifest)
    for target, variant in variants.items():
        if target == HALF_TARGET and "tflite_float32" in variants:
            entry = _check_half(directory, manifest, samples, expected, tolerances)
        else:
            with TfliteRunner(directory / variant["path"], *manifest_tflite_bindings(manifest, target)) as runner:
                entry = check_target(target, runner, samples, expected, variant["preset"], tolerances)
        if not variant.get("gating", True):
            entry["gating"] = False
        parity.append(entry)
    return parity, expected


def _check_half(directory: Path, manifest: dict, samples: list[Sample], expected, tolerances: Tolerances) -> dict:
    variants = manifest_tflite_variants(manifest)
    with owned_dir(None, "torch2tf-half-") as work:
        return check_fp16_file(directory / variants[HALF_TARGET]["path"], directory / variants["tflite_float32"]["path"],
                               manifest_tflite_bindings(manifest, "tflite_float32"), samples, expected, tolerances, work)


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


def _samples(specs: list[TensorSpec], options: ValidateOptions, manifest: dict) -> list[Sample]:
    if options.samples < 1:
        raise UsageError("--samples must be at least 1")
    arrays = None
    if options.input_data:
        arrays = load_npz(options.input_data)
        check_arrays_match(specs, arrays)
    vocab = manifest_vocab(options.directory, manifest)
    return validation_samples(specs, options.seed, vocab, count=options.samples, arrays=arrays)
