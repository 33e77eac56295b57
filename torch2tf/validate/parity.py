"""Run a target on the samples and compare it with the reference's outputs, through the one comparator.

A parity entry (report.json "parity") keeps, per output, the worst figure over all samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from torch2tf.errors import ArtifactRunError, ModelRunError
from torch2tf.inputs import Sample
from torch2tf.validate.compare import OutputComparison, Tolerances, compare_outputs
from torch2tf.validate.runners import Runner

Outputs = dict[str, dict[str, np.ndarray]]  # sample name → output name → value
FP32_TARGETS = ("saved_model", "tflite_float32")


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
                   reference_name: str = "onnxruntime", tolerances: Tolerances | None = None) -> dict:
    """The parity entry of ``run`` against ``expected``: the worst figure per output over the samples."""
    tolerances = tolerances or Tolerances.from_overrides()
    worst: dict[str, OutputComparison] = {}
    for sample, actual in run.outputs.items():
        for result in compare_outputs(expected[sample], actual, lambda out: tolerances.for_output(preset, out)):
            previous = worst.get(result.name)
            if previous is None or _worse(result, previous):
                worst[result.name] = result
    outputs = [w.to_json() for w in worst.values()]
    run.errors += non_finite_references(expected, reference_name)
    passed = not run.errors and bool(outputs) and all(o["passed"] for o in outputs)
    entry = {"target": target, "reference": reference_name, "preset": preset, "passed": passed,
             "samples": list(expected), "outputs": outputs}
    if run.errors:
        entry["errors"] = run.errors
    return entry


def check_target(target: str, runner: Runner, samples: list[Sample], expected: Outputs, preset: str,
                 tolerances: Tolerances | None = None) -> dict:
    """Run ``runner`` on every sample and compare with onnxruntime's ``expected`` outputs."""
    return compare_target(target, run_target(runner, samples), {s.name: expected[s.name] for s in samples},
                          preset, tolerances=tolerances)


def non_finite_references(expected: Outputs, reference_name: str) -> list[str]:
    """One line per sample whose reference output has NaN/Inf: a failure of its own, never a match."""
    who = "the PyTorch model itself" if reference_name == "torch" else f"the reference ({reference_name})"
    return [f"{who} produces NaN/Inf in {output!r} on sample {sample}"
            for sample, outputs in expected.items() for output, value in outputs.items()
            if np.asarray(value).dtype.kind == "f" and not np.isfinite(value).all()]


def failed_target(target: str, preset: str, samples: list[Sample], error: str) -> dict:
    """The entry of an artifact that could not even run (e.g. TFLite needing Flex ops)."""
    return {"target": target, "reference": "onnxruntime", "preset": preset, "passed": False,
            "samples": [s.name for s in samples], "outputs": [], "errors": [error]}


def _worse(a: OutputComparison, b: OutputComparison) -> bool:
    if a.passed != b.passed:
        return not a.passed
    return a.max_abs > b.max_abs


def summarize_failures(entries: list[dict]) -> str:
    parts = []
    for e in entries:
        if e["passed"]:
            continue
        bad = [f"{o['name']} max abs {o['max_abs']:.3g}" + (f" (atol {o['atol']:g})" if o["atol"] is not None else "")
               + (f" {o['note']}" if o["note"] else "") for o in e["outputs"] if not o["passed"]]
        parts.append(f"{e['target']}: " + ("; ".join(bad + e.get("errors", [])) or "no outputs"))
    return " | ".join(parts)


def fp32_failed(parity: list[dict]) -> bool:
    """fp32 artifacts that fail point at a conversion error worth localizing (fp16 drift does not)."""
    return any(not p["passed"] and p["target"] in FP32_TARGETS for p in parity)
