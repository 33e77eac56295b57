from __future__ import annotations

import numpy as np
import pytest

from torch2tf.validation.compare import PRESETS, Tolerance, compare_output, compare_outputs

REF = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)


FP16_LOSS_BOUND = Tolerance(atol=1e-2)  # a precision-loss bound a user sets with --tolerance fp16:atol=1e-2


# fp32: max abs error <= 1e-5 + 2e-4 * max|ref|; REF reaches 3.0, so the bound is 6.1e-4
@pytest.mark.parametrize("case, actual, tol, passed, note", [
    ("identical", REF.copy(), PRESETS["fp32"], True, ""),
    ("float noise", REF * (1 + 1e-6), PRESETS["fp32"], True, ""),
    ("within the scaled fp32 bound", REF + 5.5e-4, PRESETS["fp32"], True, ""),
    ("over the scaled fp32 bound", REF + 6.5e-4, PRESETS["fp32"], False, "max abs error"),
    ("fp16 reports precision loss only", REF + 0.5, PRESETS["fp16"], True, ""),
    ("a user's fp16 bound", REF + 2e-2, FP16_LOSS_BOUND, False, "max abs error"),
    ("rtol alone", REF * 1.001, Tolerance(rtol=2e-3), True, ""),
    ("nan", np.where(REF > 2, np.nan, REF).astype(np.float32), PRESETS["fp32"], False, "NaN/Inf"),
    ("inf", np.where(REF < -1, -np.inf, REF).astype(np.float32), PRESETS["fp32"], False, "NaN/Inf"),
    ("shape", REF.T.copy(), PRESETS["fp32"], False, "shape"),
])
def test_compare_output(case, actual, tol, passed, note):
    result = compare_output("y", REF, actual, tol)
    assert result.passed is passed, case
    assert note in result.note


@pytest.mark.parametrize("scale, error, passed", [
    (1e3, 0.18, True),  # large outputs: 0.18 is within 2e-4 of their magnitude
    (1e3, 0.22, False),
    (1e-3, 2e-6, True),  # small outputs: the atol floor
    (1e-3, 2e-5, False),  # an absolute 1e-4 bound would have passed this 2% error
])
def test_the_fp32_bound_scales_with_the_output(scale, error, passed):
    ref = (REF * scale / 3.0).astype(np.float64)
    result = compare_output("y", ref, ref + error, PRESETS["fp32"])
    assert result.passed is passed
    assert result.scale == pytest.approx(scale)
    assert result.limit == pytest.approx(1e-5 + 2e-4 * scale)


def test_figures():
    ref = np.array([2.0, -4.0, 8.0], dtype=np.float32)
    actual = np.array([2.1, -4.0, 8.0], dtype=np.float32)
    result = compare_output("y", ref, actual, FP16_LOSS_BOUND)
    assert result.max_abs == pytest.approx(0.1, rel=1e-5)
    assert result.mean_abs == pytest.approx(0.1 / 3, rel=1e-5)
    assert result.max_rel == pytest.approx(0.05, rel=1e-5)
    assert result.cosine == pytest.approx(float(ref @ actual / np.linalg.norm(ref) / np.linalg.norm(actual)))
    assert not result.passed and result.atol == 1e-2


def test_integer_outputs_compare_exactly():
    ref = np.array([1, 2, 3], dtype=np.int64)
    assert compare_output("ids", ref, ref.copy(), PRESETS["fp32"]).passed
    assert not compare_output("ids", ref, np.array([1, 2, 4]), PRESETS["fp32"]).passed


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nan_is_never_a_match(bad):
    ref = np.array([bad, 1.0], dtype=np.float32)
    result = compare_output("y", ref, ref.copy(), PRESETS["fp32"])  # identical, NaN included
    assert not result.passed and "reference has 1 NaN/Inf" in result.note
    all_nan = np.full((2, 3), np.nan, np.float32)
    assert not compare_output("y", all_nan, all_nan.copy(), PRESETS["fp32"]).passed


def test_nan_in_the_reference_names_the_sample():
    from torch2tf.validation.parity import TargetRun, compare_target

    nan = {"s1": {"logits": np.full((1, 2), np.nan, np.float32)}}
    entry = compare_target("onnxruntime", TargetRun(nan), nan, "fp32", reference_name="torch")
    assert not entry.passed
    assert entry.errors == ("the PyTorch model itself produces NaN/Inf in 'logits' on sample s1",)


def test_missing_output_fails():
    results = compare_outputs({"a": REF, "b": REF}, {"a": REF}, PRESETS["fp32"])
    assert [r.passed for r in results] == [True, False]
    assert "missing" in results[1].note


def test_cosine_of_opposite_vectors():
    assert compare_output("y", REF, -REF, PRESETS["fp32"]).cosine == pytest.approx(-1.0)
