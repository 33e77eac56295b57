"""Run every target on the same samples as the reference and compare with one comparator."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from torch2tf.validate.compare import OutputComparison, Tolerances, compare_outputs
from torch2tf.validate.runners import Runner


@dataclass
class Sample:
    name: str  # e.g. "random-batch1", "user-data"
    feeds: dict[str, np.ndarray]


def reference_outputs(reference: Runner, samples: list[Sample]) -> dict[str, dict[str, np.ndarray]]:
    return {s.name: reference.infer(s.feeds) for s in samples}


def check_target(target: str, runner: Runner, samples: list[Sample],
                 expected: dict[str, dict[str, np.ndarray]], preset: str,
                 reference_name: str = "onnxruntime", tolerances: Tolerances | None = None) -> dict:
    """Compare ``runner`` with the reference on every sample; keep the worst figure per output."""
    tolerances = tolerances or Tolerances.from_overrides()

    def tolerance(output: str):
        return tolerances.for_output(preset, output)

    worst: dict[str, OutputComparison] = {}
    errors = []
    for sample in samples:
        try:
            actual = runner.infer(sample.feeds)
        except Exception as exc:  # a runtime failure of an artifact is a parity failure
            errors.append(f"{sample.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        for result in compare_outputs(expected[sample.name], actual, tolerance):
            previous = worst.get(result.name)
            if previous is None or _worse(result, previous):
                worst[result.name] = result
    outputs = [w.to_json() for w in worst.values()]
    passed = not errors and bool(outputs) and all(o["passed"] for o in outputs)
    entry = {"target": target, "reference": reference_name, "preset": preset, "passed": passed,
             "samples": [s.name for s in samples], "outputs": outputs}
    if errors:
        entry["errors"] = errors
    return entry


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
        bad = [f"{o['name']} max abs {o['max_abs']:.3g} (atol {o['atol']:g})" + (f" {o['note']}" if o["note"] else "")
               for o in e["outputs"] if not o["passed"]]
        parts.append(f"{e['target']}: " + ("; ".join(bad + e.get("errors", [])) or "no outputs"))
    return " | ".join(parts)
