"""The one comparator: every pair of runners is compared here, with named tolerance presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float = 0.0


# Named presets per precision. An output passes when max |a - b| <= atol + rtol * max |b|.
PRESETS: dict[str, Tolerance] = {
    "fp32": Tolerance(atol=1e-4),
    "fp16": Tolerance(atol=1e-2),
}


@dataclass
class OutputComparison:
    name: str
    shape: list[int]
    max_abs: float
    max_rel: float
    mean_abs: float
    cosine: float
    atol: float
    rtol: float
    passed: bool
    note: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def compare_output(name: str, reference: np.ndarray, actual: np.ndarray, tol: Tolerance) -> OutputComparison:
    """Compare one output; shape mismatches, NaN and Inf are failures, never warnings."""
    shape = list(reference.shape)
    if reference.shape != actual.shape:
        return OutputComparison(name, shape, float("inf"), float("inf"), float("inf"), 0.0, tol.atol,
                                tol.rtol, False, f"shape {list(actual.shape)} != reference {shape}")
    ref = reference.astype(np.float64)
    act = actual.astype(np.float64)
    bad_ref, bad_act = ~np.isfinite(ref), ~np.isfinite(act)
    if (bad_act & ~bad_ref).any():
        return OutputComparison(name, shape, float("inf"), float("inf"), float("inf"), 0.0, tol.atol,
                                tol.rtol, False, f"{int((bad_act & ~bad_ref).sum())} NaN/Inf values "
                                "where the reference is finite")
    finite = ~bad_ref
    diff = np.abs(act - ref)[finite]
    max_abs = float(diff.max()) if diff.size else 0.0
    mean_abs = float(diff.mean()) if diff.size else 0.0
    max_rel = float((diff / np.maximum(np.abs(ref[finite]), 1e-12)).max()) if diff.size else 0.0
    cosine = _cosine(ref[finite], act[finite])
    limit = tol.atol + tol.rtol * (float(np.abs(ref[finite]).max()) if diff.size else 0.0)
    mismatched_nonfinite = bool((bad_ref & ~np.isclose(ref, act, equal_nan=True)).any())
    passed = max_abs <= limit and not mismatched_nonfinite
    note = "" if passed else (f"max abs error {max_abs:.3g} > {limit:.3g}" if max_abs > limit
                              else "NaN/Inf positions differ from the reference")
    return OutputComparison(name, shape, max_abs, max_rel, mean_abs, cosine, tol.atol, tol.rtol, passed, note)


def compare_outputs(reference: dict[str, np.ndarray], actual: dict[str, np.ndarray],
                    tol: Tolerance) -> list[OutputComparison]:
    """Compare every reference output; a missing output is a failure too."""
    results = []
    for name, ref in reference.items():
        if name not in actual:
            results.append(OutputComparison(name, list(ref.shape), float("inf"), float("inf"), float("inf"),
                                             0.0, tol.atol, tol.rtol, False,
                                             f"missing (got {', '.join(actual) or 'nothing'})"))
            continue
        results.append(compare_output(name, ref, actual[name], tol))
    return results


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a.ravel(), b.ravel()) / (na * nb))
