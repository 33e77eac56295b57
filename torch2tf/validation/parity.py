"""Run a target on the samples and compare it with the reference's outputs, through the one comparator.

A parity entry (report.json "parity") keeps, per output, the worst figure over all samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from torch2tf.errors import ArtifactRunError, ModelRunError
from torch2tf.inputs import Sample
from torch2tf.records import ParityEntry, PrecisionLoss, Uninformative
from torch2tf.validation.compare import OutputComparison, Tolerances, compare_outputs
from torch2tf.validation.runners import Runner

Outputs = dict[str, dict[str, np.ndarray]]  # sample name → output name → value
FP32_TARGETS = ("saved_model", "tflite_float32")
HALF_TARGET = "tflite_float16"
HALF_REFERENCE = "tflite_float32 with fp16 weights"


@dataclass
class TargetRun:
    outputs: Outputs = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # samples the target could not run


def run_samples(runner: Runner, samples: list[Sample]) -> Outputs:
    """The reference's outputs; a reference that fails raises (there is nothing to compare with)."""
    return {s.name: runner.infer(s.feeds) for s in samples}


def run_target(runner: Runner, samples: list[Sample]) -> TargetRun:
    """A target's outputs; a sample it cannot run is a parity failure, recorded, not raised."""
    run = TargetRun()
    for sample in samples:
        try:
            run.outputs[sample.name] = runner.infer(sample.feeds)
        except (ArtifactRunError, ModelRunError) as exc:
            run.errors.append(f"{sample.name}: {exc.message}")
        except Exception as exc:  # a runtime's own failure on one sample (e.g. a TF kernel error)
            text = str(exc).splitlines()[0] if str(exc) else ""
            run.errors.append(f"{sample.name}: {type(exc).__name__}: {text}")
    return run


def compare_target(target: str, run: TargetRun, expected: Outputs, preset: str,
                   reference_name: str = "onnxruntime", tolerances: Tolerances | None = None) -> ParityEntry:
    """The parity entry of ``run`` against ``expected``: the worst figure per output over the samples."""
    tolerances = tolerances or Tolerances.from_overrides()
    worst: dict[str, OutputComparison] = {}
    for sample, actual in run.outputs.items():
        for result in compare_outputs(expected[sample], actual, lambda out: tolerances.for_output(preset, out)):
            previous = worst.get(result.name)
            if previous is None or _worse(result, previous):
                worst[result.name] = result
    outputs = tuple(worst.values())
    errors = tuple(run.errors + non_finite_references(expected, reference_name))
    passed = not errors and bool(outputs) and all(o.passed for o in outputs)
    return ParityEntry(target, reference_name, preset, passed, tuple(expected), outputs, errors)


def check_target(target: str, runner: Runner, samples: list[Sample], expected: Outputs, preset: str,
                 tolerances: Tolerances | None = None) -> ParityEntry:
    """Run ``runner`` on every sample and compare with onnxruntime's ``expected`` outputs."""
    return compare_target(target, run_target(runner, samples), {s.name: expected[s.name] for s in samples},
                          preset, tolerances=tolerances)


def non_finite_references(expected: Outputs, reference_name: str) -> list[str]:
    """One line per sample whose reference output has NaN/Inf: a failure of its own, never a match."""
    who = "the PyTorch model itself" if reference_name == "torch" else f"the reference ({reference_name})"
    return [f"{who} produces NaN/Inf in {output!r} on sample {sample}"
            for sample, outputs in expected.items() for output, value in outputs.items()
            if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all()]


def check_half_precision(runner: Runner, reference: Runner, samples: list[Sample], expected: Outputs,
                         tolerances: Tolerances | None = None) -> ParityEntry:
    """The fp16 file: conversion error against a reference of its own precision, precision loss beside it.

    ``reference`` runs the fp32 .tflite with every float constant rounded to half precision (what the
    fp16 file stores; both compute in float32), so the fp16 file is judged with the fp32 preset. Its
    distance from onnxruntime fp32 (``expected``) is the precision loss: reported, and gating only
    when the fp16 preset has a bound (``--tolerance fp16:...``).
    """
    tolerances = tolerances or Tolerances.from_overrides()
    try:
        rounded = run_samples(reference, samples)
    except (ArtifactRunError, ModelRunError) as exc:
        return failed_target(HALF_TARGET, "fp32", samples, f"the fp16-weights reference could not run: {exc.message}",
                             HALF_REFERENCE)
    run = run_target(runner, samples)
    entry = compare_target(HALF_TARGET, run, rounded, "fp32", HALF_REFERENCE, tolerances)
    loss = compare_target(HALF_TARGET, TargetRun(outputs=run.outputs), {s.name: expected[s.name] for s in samples},
                          "fp16", tolerances=tolerances)
    gating = tolerances.presets["fp16"].gates
    precision_loss = PrecisionLoss(loss.reference, "fp16", gating, loss.passed, loss.outputs)
    return replace(entry, precision_loss=precision_loss, passed=entry.passed and not precision_loss.failing)


def failed_target(target: str, preset: str, samples: list[Sample], error: str,
                  reference: str = "onnxruntime") -> ParityEntry:
    """The entry of an artifact that could not even run (e.g. TFLite needing Flex ops)."""
    return ParityEntry(target, reference, preset, False, tuple(s.name for s in samples), (), (error,))


def uninformative_outputs(expected: Outputs, tolerances: Tolerances | None = None) -> tuple[Uninformative, ...]:
    """Outputs whose reference does not vary across the samples and their rows (constant, all zero, equal
    rows) by more than the fp32 bound allows: a constant would pass parity there, so it proves nothing."""
    tolerances = tolerances or Tolerances.from_overrides()
    found = []
    names = next(iter(expected.values()), {}).keys()
    for name in names:
        values = [np.asarray(outputs[name]) for outputs in expected.values() if name in outputs]
        rows = _rows(values)
        if rows is None or not np.isfinite(rows).all():
            continue
        spread = float((rows.max(axis=0) - rows.min(axis=0)).max()) if rows.size else 0.0
        scale = float(np.abs(rows).max()) if rows.size else 0.0
        limit = tolerances.for_output("fp32", name).limit(scale) or 0.0
        if values[0].dtype.kind in "iub":
            limit = 0.0
        if spread <= limit:
            what = "all zero" if scale == 0 else ("constant" if spread == 0 else "nearly constant")
            found.append(Uninformative(name, spread, limit, len(values),
                                       f"{what} across {rows.shape[0]} rows of {len(values)} samples "
                                       f"(spread {spread:.3g} <= bound {limit:.3g}): parity uninformative"))
    return tuple(found)


def uninformative_line(entry: Uninformative, strict: bool) -> str:
    """The one console line convert and validate print for an uninformative output."""
    return f"output {entry.output!r}: {entry.note}" + ("" if strict else " (not a failure without --strict)")


def _rows(values: list[np.ndarray]) -> np.ndarray | None:
    """The samples' outputs as rows (batch rows where every sample has the same row shape)."""
    if not values:
        return None
    if all(v.ndim >= 1 and v.shape[1:] == values[0].shape[1:] for v in values):
        return np.concatenate([v.reshape(v.shape[0], -1) for v in values]).astype(np.float64)
    if all(v.shape == values[0].shape for v in values):
        return np.stack([v.ravel() for v in values]).astype(np.float64)
    return None


def _worse(a: OutputComparison, b: OutputComparison) -> bool:
    if a.passed != b.passed:
        return not a.passed
    return a.max_abs > b.max_abs


def summarize_failures(entries: tuple[ParityEntry, ...]) -> str:
    parts = []
    for e in entries:
        if e.passed:
            continue
        bad = [f"{o.name} {o.note or 'max abs ' + format(o.max_abs, '.3g')}" for o in e.outputs if not o.passed]
        if e.precision_loss and e.precision_loss.failing:
            bad += [f"{o.name} precision loss {o.note}" for o in e.precision_loss.outputs if not o.passed]
        parts.append(f"{e.target}: " + ("; ".join(bad + list(e.errors)) or "no outputs"))
    return " | ".join(parts)


def fp32_failed(parity: tuple[ParityEntry, ...]) -> bool:
    """fp32 artifacts that fail point at a conversion error worth localizing (fp16 drift does not)."""
    return any(not p.passed and p.target in FP32_TARGETS for p in parity)
