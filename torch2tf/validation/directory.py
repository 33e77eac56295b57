"""Parity of the artifacts in a convert output directory, re-run from what manifest.json records.

The reference is onnxruntime on DIR/model.onnx; the targets are the SavedModel (through
serving_default, as TF Serving calls it) and each TFLite file, with the I/O bindings recorded in
manifest.json. The caller decides what else to do with a failure (localize it) and writes the report.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from torch2tf.artifacts import manifest_vocab, read_manifest, sha256_of, stale_measurement
from torch2tf.errors import OutputDirError, UsageError
from torch2tf.inputs import Sample, check_arrays_match, load_npz, validation_samples
from torch2tf.records import Manifest, ParityEntry, Report, Stage, read_report
from torch2tf.specs import TensorSpec
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.diff import find_regressions
from torch2tf.validation.half_weights import check_fp16_file
from torch2tf.validation.parity import HALF_TARGET, Outputs, check_target, run_samples, uninformative_outputs
from torch2tf.validation.report import tool_versions
from torch2tf.validation.runners import OrtRunner, SavedModelRunner, TfliteRunner
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


SERVED_TARGETS = ("served_rest", "served_grpc")  # measured by smoke --update-report against a server


@dataclass
class DirectoryValidation:
    report: Report
    previous: Report  # the report.json found in the directory
    manifest: Manifest
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
    if not manifest.complete:
        raise OutputDirError(f"{directory}/manifest.json has no I/O bindings: not a complete convert output")
    try:
        tolerances = Tolerances.from_overrides(options.tolerances)
        tolerances.check_outputs(manifest.output_names)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    specs = manifest.specs()
    notes = _changed_artifacts(directory, manifest)
    start = time.perf_counter()
    samples = _samples(specs, options, manifest)
    parity, expected = _parity(directory, manifest, samples, tolerances, old)
    parity += _kept_served_rows(old, manifest)
    for section, kept in (("benchmark", old.benchmark), ("profile", old.profile)):
        if kept and stale_measurement(kept.measured, manifest):
            notes.append(f"the {section} section was measured on artifacts that have changed since "
                         f"(or before measurements were stamped): run bench again")
    seconds = time.perf_counter() - start
    regressions = find_regressions(tuple(parity), baseline.parity, options.regression_factor) if baseline else ()
    # What validate does not measure again is kept: the bench and profile sections, stamped, until bench runs again.
    report = Report(model=old.model, inputs=old.inputs, outputs=old.outputs, operators=old.operators,
                    export=old.export, conversion=old.conversion, parity=tuple(parity), notes=tuple(notes),
                    stages=(Stage("validate", "ok", seconds, f"{len(samples)} samples"),), regressions=regressions,
                    uninformative=uninformative_outputs(expected, tolerances), strict=options.strict,
                    versions=tool_versions(), benchmark=old.benchmark, profile=old.profile)
    return DirectoryValidation(report, old, manifest, specs, samples, seconds)


def _kept_served_rows(old: Report, manifest: Manifest) -> list[ParityEntry]:
    """The served rows smoke added: validate does not ask the server again, so it keeps them, marked."""
    return [replace(entry, carried_over=True, stale=stale_measurement(entry.measured, manifest))
            for entry in old.parity if entry.target in SERVED_TARGETS]


def _parity(directory: Path, manifest: Manifest, samples: list[Sample], tolerances: Tolerances,
            old: Report) -> tuple[list[ParityEntry], Outputs]:
    with OrtRunner(directory / "model.onnx") as ort:
        expected = run_samples(ort, samples)
    # No torch model here: keep convert's export check, marked as such.
    parity = [replace(p, carried_over=True) for p in old.parity if p.reference == "torch"]
    with SavedModelRunner(directory / "saved_model", manifest.plan()) as runner:
        parity.append(check_target("saved_model", runner, samples, expected, "fp32", tolerances))
    variants = manifest.tflite.all_variants()
    for target, variant in variants.items():
        if target == HALF_TARGET and "tflite_float32" in variants:
            entry = _check_half(directory, manifest, samples, expected, tolerances)
        else:
            with TfliteRunner(directory / variant.path, *manifest.tflite.bindings(target)) as runner:
                entry = check_target(target, runner, samples, expected, variant.preset, tolerances)
        parity.append(entry if variant.gating else replace(entry, gating=False))
    return parity, expected


def _check_half(directory: Path, manifest: Manifest, samples: list[Sample], expected: Outputs,
                tolerances: Tolerances) -> ParityEntry:
    variants = manifest.tflite.all_variants()
    with owned_dir(None, "torch2tf-half-") as work:
        return check_fp16_file(directory / variants[HALF_TARGET].path, directory / variants["tflite_float32"].path,
                               manifest.tflite.bindings("tflite_float32"), samples, expected, tolerances, work)


def _changed_artifacts(directory: Path, manifest: Manifest) -> list[str]:
    notes = []
    for artifact in manifest.artifacts:
        path = directory / artifact.path
        if artifact.path.startswith("report."):
            continue
        if not path.is_file():
            raise OutputDirError(f"{artifact.path} is missing from {directory}")
        if sha256_of(path) != artifact.sha256:
            notes.append(f"{artifact.path} changed since conversion (sha256 differs from manifest.json)")
    return notes


def _samples(specs: list[TensorSpec], options: ValidateOptions, manifest: Manifest) -> list[Sample]:
    if options.samples < 1:
        raise UsageError("--samples must be at least 1")
    arrays = None
    if options.input_data:
        arrays = load_npz(options.input_data)
        check_arrays_match(specs, arrays)
    vocab = manifest_vocab(options.directory, manifest)
    return validation_samples(specs, options.seed, vocab, count=options.samples, arrays=arrays)
