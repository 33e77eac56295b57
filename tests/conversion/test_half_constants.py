"""Small float constants half precision cannot hold (an epsilon of 1e-12, a scale of 1e10) stay float32
in the fp16 file and in its reference; every other constant is still rounded."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli
from torch2tf.tflite.shape_constants import half_cannot_hold


@pytest.mark.parametrize("values, expected", [
    ([1e-12], True),  # underflows to 0
    ([1e10], True),  # overflows
    ([1e-6], True),  # subnormal: 1.0133e-06
    ([1e-5], True),  # subnormal too (float16 is normal from 6.1e-5): a LayerNorm's default epsilon
    ([1e-4, 0.5], False),  # normal: rounded within 2^-11
    ([0.0, -3.0, 1 / 3], False),
    (np.full(17, 1e-12), False),  # a weight, not a scalar: rounded like the rest
])
def test_which_constants_half_precision_cannot_hold(values, expected):
    assert half_cannot_hold(np.asarray(values, np.float32)) is expected


@pytest.mark.slow
def test_the_fp16_file_keeps_scalars_half_precision_cannot_hold(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("convert", "tests/conversion/half_models.py:tiny_scale", "-i", "x:Nx8", "-o", str(out),
                   "--no-cache", "--json", "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    fp16 = [c for c in report["parity"] if c["target"] == "tflite_float16"]
    assert fp16 and all(c["passed"] for c in fp16)
    loss = fp16[0]["precision_loss"]["outputs"]
    assert loss and all(o["max_abs"] < 1e-2 for o in loss)  # the fp16 file answers ≈ 2x, not NaN
    notes = [r["detail"] for r in report["conversion"]["rewrites"] if r["rewrite"] == "exact_shape_constants"]
    assert notes == ["tflite_float16: 2 float constant(s) kept at float32 (size arithmetic, or beyond half precision)"]
