"""The verdict as a table of cases: every injected fault fails, named on its output; correct runs pass.

A small residual CNN with two outputs (logits and their softmax) is written as ONNX; each fault is
an edit of that graph, run by onnxruntime as the artifact under test and judged against the clean
graph by the one comparator with the fp32 preset, as a converted file is. The fp16 cases go through
``check_half_precision`` with fp16-rounded weights, as the fp16 .tflite file is judged.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch2tf.inputs import Sample
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.parity import check_half_precision, check_target, run_samples, uninformative_outputs
from torch2tf.validation.runners import OrtRunner

C = 8


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"w1": rng.normal(0, 0.3, (C, C, 3, 3)), "b1": rng.normal(0, 0.3, C),
            "scale": rng.uniform(0.5, 1.5, C), "shift": rng.normal(0, 0.2, C), "mean": rng.normal(0, 0.2, C),
            "var": rng.uniform(0.005, 0.02, C), "w2": rng.normal(0, 0.05, (C, C)), "b2": rng.uniform(0.5, 1.0, C)}


def _model(path, seed: int = 0, fault: str = "", weights: dict[str, np.ndarray] | None = None) -> str:
    w = {k: v.astype(np.float32) for k, v in (weights or _weights(seed)).items()}
    if fault == "swapped channels":
        w["w1"][[0, 1]], w["b1"][[0, 1]] = w["w1"][[1, 0]], w["b1"][[1, 0]]
    elif fault == "bias off by 1%":
        w["b2"] = w["b2"] * 1.01
    elif fault == "transposed square weight":
        w["w2"] = w["w2"].T.copy()
    elif fault == "conv bias dropped":
        w["b1"] = np.zeros_like(w["b1"])
    act = helper.make_node("LeakyRelu", ["n"], ["a"], alpha=0.1) if fault == "wrong activation" \
        else helper.make_node("Relu", ["n"], ["a"])
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["n"],
                         epsilon=1e-2 if fault == "wrong epsilon" else 1e-5),
        act,
        helper.make_node("Identity" if fault == "dropped residual" else "Add",
                         ["a"] if fault == "dropped residual" else ["a", "x"], ["r"]),
        helper.make_node("GlobalMaxPool" if fault == "max instead of mean pooling" else "GlobalAveragePool",
                         ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["gemm"], transB=1),
        helper.make_node("Softmax", ["gemm"], ["soft"], axis=0 if fault == "softmax on the wrong axis" else 1),
        helper.make_node("Identity", ["soft" if fault == "outputs swapped" else "gemm"], ["logits"]),
        helper.make_node("Identity", ["gemm" if fault == "outputs swapped" else "soft"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes, "faults", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, 6, 6])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", C]) for n in ("logits", "probs")],
        [numpy_helper.from_array(v, k) for k, v in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(7)
    return [Sample(f"s{i}", {"x": rng.normal(0, 1, (n, C, 6, 6)).astype(np.float32)}) for i, n in enumerate((1, 3))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, samples):
    with OrtRunner(_model(tmp_path_factory.mktemp("ref") / "clean.onnx")) as runner:
        return run_samples(runner, samples)


FAULTS = [  # fault, the outputs it must fail on
    ("swapped channels", {"logits", "probs"}),
    ("bias off by 1%", {"logits"}),  # softmax is shift-invariant only for a uniform shift
    ("transposed square weight", {"logits", "probs"}),
    ("wrong epsilon", {"logits", "probs"}),
    ("dropped residual", {"logits", "probs"}),
    ("softmax on the wrong axis", {"probs"}),
    ("outputs swapped", {"logits", "probs"}),
    ("wrong activation", {"logits", "probs"}),
    ("max instead of mean pooling", {"logits", "probs"}),
    ("conv bias dropped", {"logits", "probs"}),
]


@pytest.mark.parametrize("fault, outputs", FAULTS, ids=[f for f, _ in FAULTS])
def test_every_injected_fault_fails_on_its_output(tmp_path, samples, reference, fault, outputs):
    with OrtRunner(_model(tmp_path / "faulty.onnx", fault=fault)) as runner:
        entry = check_target("tflite_float32", runner, samples, reference, "fp32")
    failing = {o.name for o in entry.outputs if not o.passed}
    assert not entry.passed
    assert outputs <= failing, (fault, failing)


def test_the_fault_table_is_at_least_ten_faults():
    assert len(FAULTS) >= 10


def _rounded(seed: int) -> dict[str, np.ndarray]:
    return {k: v.astype(np.float16).astype(np.float64) for k, v in _weights(seed).items()}


def test_a_correct_fp16_file_passes_and_its_precision_loss_is_reported_apart(tmp_path, samples, reference):
    half = _model(tmp_path / "half.onnx", weights=_rounded(0))
    with OrtRunner(half) as runner, OrtRunner(half) as rounded:
        entry = check_half_precision(runner, rounded, samples, reference)
    assert entry.passed and all(o.max_abs == 0 for o in entry.outputs)
    loss = entry.precision_loss
    assert not loss.gating and max(o.max_abs for o in loss.outputs) > 0


def test_a_users_fp16_bound_gates_the_precision_loss(tmp_path, samples, reference):
    half = _model(tmp_path / "half.onnx", weights=_rounded(0))
    with OrtRunner(half) as runner, OrtRunner(half) as rounded:
        entry = check_half_precision(runner, rounded, samples, reference, Tolerances.from_overrides(["fp16:atol=1e-9"]))
    assert entry.precision_loss.gating and not entry.passed


def test_an_fp16_file_holding_another_models_weights_fails(tmp_path, samples, reference):
    with OrtRunner(_model(tmp_path / "other.onnx", weights=_rounded(1))) as runner, \
            OrtRunner(_model(tmp_path / "half.onnx", weights=_rounded(0))) as rounded:
        entry = check_half_precision(runner, rounded, samples, reference)
    assert not entry.passed and {o.name for o in entry.outputs if not o.passed} == {"logits", "probs"}


def test_float_noise_passes(tmp_path, samples, reference):
    """The same graph with every weight moved by a float32 rounding step: what reordered kernels do."""
    noisy = {k: v * (1 + np.random.default_rng(3).choice([-1, 1], v.shape) * 6e-8) for k, v in _weights(0).items()}
    with OrtRunner(_model(tmp_path / "noisy.onnx", weights=noisy)) as runner:
        entry = check_target("tflite_float32", runner, samples, reference, "fp32")
    assert entry.passed, entry.outputs


@pytest.mark.parametrize("case, values, flagged", [
    ("constant", [np.full((1, 4), 0.5), np.full((3, 4), 0.5)], True),
    ("all zero", [np.zeros((1, 4)), np.zeros((3, 4))], True),
    ("equal rows", [np.tile([[0.1, -2.0, 3.0]], (1, 1)), np.tile([[0.1, -2.0, 3.0]], (3, 1))], True),
    ("tiny values", [np.full((1, 4), 1e-32), np.full((3, 4), 1.2e-32)], True),
    ("varies", [np.array([[0.1, 0.2]]), np.array([[0.3, 0.1], [0.2, 0.2], [0.0, 1.0]])], False),
    ("integer ids that vary", [np.array([[1, 2]]), np.array([[1, 2], [3, 4], [1, 1]])], False),
])
def test_uninformative_references_are_named(case, values, flagged):
    expected = {f"s{i}": {"y": v} for i, v in enumerate(values)}
    found = uninformative_outputs(expected)
    assert bool(found) is flagged, case
    if flagged:
        assert found[0].output == "y" and "uninformative" in found[0].note

