"""The one comparator: every pair of runners is compared here, with named tolerance presets."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from torch2tf.records import OutputComparison


@dataclass(frozen=True)
class Tolerance:
    """When an output passes: max |a - b| <= atol + rtol * max |reference|, and the minimums reached.

    A bound left None does not gate: with neither atol nor rtol the error figures are reported only.
    """

    atol: float | None = None
    rtol: float | None = None
    min_cosine: float | None = None
    min_top1: float | None = None  # for classifier-like outputs only

    @property
    def bounds_error(self) -> bool:
        return self.atol is not None or self.rtol is not None

    @property
    def gates(self) -> bool:
        """Does it bound anything (the fp16 preset bounds nothing unless the user gives a bound)?"""
        return self.bounds_error or self.min_cosine is not None or self.min_top1 is not None

    def limit(self, scale: float) -> float | None:
        """The largest max abs error allowed on an output whose reference reaches ``scale``."""
        if not self.bounds_error:
            return None
        return (self.atol or 0.0) + (self.rtol or 0.0) * scale


# Named presets, scaled to the output's magnitude (README "How parity is judged" gives the
# measurements behind each number). fp32 judges a conversion: every float artifact against a reference
# of its own precision (onnxruntime, or the fp32 .tflite with half-precision weights for the fp16
# file). fp16 and int8 judge precision loss against onnxruntime fp32: fp16 is reported and gates only
# when the user sets a bound; int8 gates only with --strict-quant.
PRESETS: dict[str, Tolerance] = {
    "fp32": Tolerance(atol=1e-5, rtol=2e-4, min_cosine=0.9999),
    "fp16": Tolerance(),
    "int8": Tolerance(min_cosine=0.98, min_top1=0.9),
}
TOLERANCE_KEYS = ("atol", "rtol", "min_cosine", "min_top1")


def parse_tolerance_override(text: str) -> tuple[str, dict[str, float]]:
    """``fp32:atol=1e-5`` (a preset) or ``logits:atol=1e-3,rtol=1e-3`` (one output) → (target, values)."""
    head, sep, body = text.partition(":")
    if not sep or not head or not body:
        raise ValueError(f"bad tolerance {text!r}: expected PRESET_OR_OUTPUT:KEY=VALUE[,KEY=VALUE]")
    values = {}
    for item in body.split(","):
        key, eq, value = item.partition("=")
        if not eq or key not in TOLERANCE_KEYS:
            raise ValueError(f"bad tolerance {text!r}: {key!r} is not one of {', '.join(TOLERANCE_KEYS)}")
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f"bad tolerance {text!r}: {value!r} is not a number") from None
    return head, values


@dataclass
class Tolerances:
    """Presets with the user's overrides: per preset, and per output name (which wins)."""

    presets: dict[str, Tolerance]
    per_output: dict[str, dict[str, float]]

    @classmethod
    def from_overrides(cls, overrides: list[str] | None = None) -> Tolerances:
        presets = dict(PRESETS)
        per_output: dict[str, dict[str, float]] = {}
        for text in overrides or []:
            target, values = parse_tolerance_override(text)
            if target in presets:
                presets[target] = replace(presets[target], **values)
            else:
                per_output.setdefault(target, {}).update(values)
        return cls(presets, per_output)

    def check_outputs(self, outputs: list[str]) -> None:
        """ValueError for an override naming neither a preset nor an output: a typo is never ignored."""
        unknown = sorted(set(self.per_output) - set(outputs))
        if unknown:
            raise ValueError(f"--tolerance {unknown[0]}:...: {unknown[0]!r} is neither a preset "
                             f"({', '.join(PRESETS)}) nor an output of the model ({', '.join(outputs)})")

    def for_output(self, preset: str, output: str) -> Tolerance:
        """An output's own override applies to conversion error (fp32); fp16 and int8 bound precision loss."""
        base = self.presets[preset]
        return replace(base, **self.per_output[output]) if preset == "fp32" and output in self.per_output else base


def compare_output(name: str, reference: np.ndarray, actual: np.ndarray, tol: Tolerance) -> OutputComparison:
    """Compare one output; shape mismatches, NaN and Inf are failures, never warnings."""
    shape = list(reference.shape)

    def failed(note: str) -> OutputComparison:
        inf = float("inf")
        return OutputComparison(name, shape, inf, inf, inf, 0.0, tol.atol, tol.rtol, False, note)

    if reference.shape != actual.shape:
        return failed(f"shape {list(actual.shape)} != reference {shape}")
    ref = reference.astype(np.float64)
    act = actual.astype(np.float64)
    bad_ref, bad_act = ~np.isfinite(ref), ~np.isfinite(act)
    if bad_ref.any():  # a NaN is never a match: a reference that has one proves nothing
        return failed(f"the reference has {int(bad_ref.sum())} NaN/Inf values")
    if bad_act.any():
        return failed(f"{int(bad_act.sum())} NaN/Inf values where the reference is finite")
    diff = np.abs(act - ref)
    max_abs = float(diff.max()) if diff.size else 0.0
    mean_abs = float(diff.mean()) if diff.size else 0.0
    max_rel = float((diff / np.maximum(np.abs(ref), 1e-12)).max()) if diff.size else 0.0
    cosine = _cosine(ref, act)
    top1 = _top1_agreement(ref, act)
    scale = float(np.abs(ref).max()) if diff.size else 0.0
    limit = tol.limit(scale)
    problems = []
    if limit is not None and max_abs > limit:
        problems.append(f"max abs error {max_abs:.3g} > {limit:.3g} ({_rule(tol)} at max |ref| {scale:.3g})")
    if tol.min_cosine is not None and cosine < tol.min_cosine:
        problems.append(f"cosine {cosine:.4f} < {tol.min_cosine}")
    if tol.min_top1 is not None and top1 is not None and top1 < tol.min_top1:
        problems.append(f"top-1 agreement {top1:.3f} < {tol.min_top1}")
    return OutputComparison(name, shape, max_abs, max_rel, mean_abs, cosine, tol.atol, tol.rtol,
                            not problems, "; ".join(problems), top1, scale, limit)


def _rule(tol: Tolerance) -> str:
    parts = [f"{tol.atol:g}" if tol.atol else "", f"{tol.rtol:g}·max|ref|" if tol.rtol else ""]
    return " + ".join(p for p in parts if p) or "0"


def _top1_agreement(ref: np.ndarray, act: np.ndarray) -> float | None:
    """Share of rows whose arg-max agrees, for (batch, classes) float outputs with several classes."""
    if ref.ndim != 2 or ref.shape[1] < 2 or not np.isfinite(ref).all():
        return None
    return float(np.mean(ref.argmax(axis=1) == act.argmax(axis=1)))


def compare_outputs(reference: dict[str, np.ndarray], actual: dict[str, np.ndarray],
                    tol: Tolerance | Callable[[str], Tolerance]) -> list[OutputComparison]:
    """Compare every reference output; a missing output is a failure too.

    ``tol`` is one Tolerance for all outputs, or a function giving each output's.
    """
    results = []
    for name, ref in reference.items():
        tolerance = tol(name) if callable(tol) else tol
        if name not in actual:
            results.append(OutputComparison(name, list(ref.shape), float("inf"), float("inf"), float("inf"),
                                             0.0, tolerance.atol, tolerance.rtol, False,
                                             f"missing (got {', '.join(actual) or 'nothing'})"))
            continue
        results.append(compare_output(name, ref, actual[name], tolerance))
    return results


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a.ravel(), b.ravel()) / (na * nb))
