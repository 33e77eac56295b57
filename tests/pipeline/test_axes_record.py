"""report.json's record of the named dims: which stayed dynamic, or which were fixed, at what size and why."""
from __future__ import annotations

from types import SimpleNamespace

from torch2tf.conversion.strategies import strategies_for
from torch2tf.pipeline.convert import _axes_record
from torch2tf.specs import parse_input_spec

SPECS = [parse_input_spec("ids:Nx{seq=8..64}:int64"), parse_input_spec("mask:Nx{seq}:int64")]


def _ladder(*names: str, reasons: tuple[str, ...] = ()):
    by_name = {s.name: s for s in strategies_for(SPECS)}
    attempts = [SimpleNamespace(strategy=by_name[n], reason=r) for n, r in zip(names, reasons or ("",) * len(names))]
    return SimpleNamespace(chosen=attempts[-1], attempts=attempts)


def test_kept_dynamic():
    assert _axes_record(_ladder("dynamic-shape"), SPECS) == {"dynamic_axes": ("seq",)}


def test_fixed_after_the_dynamic_strategies_failed_says_why():
    ladder = _ladder("dynamic-shape", "static-batch+dynamic-axes", "dynamic-batch+fixed-axes",
                     reasons=("onnx2tf failed: a", "onnx2tf failed: b", ""))
    assert _axes_record(ladder, SPECS) == {"static_axes": {"seq": 64},
                                           "static_axes_reason": "static-batch+dynamic-axes: onnx2tf failed: b"}


def test_fixed_by_strategy_alone_still_names_the_dims():
    """--strategy …+fixed-axes: every attempt is pinned, the declared inputs still say which dims were fixed."""
    assert _axes_record(_ladder("static-batch+fixed-axes"), SPECS) == {
        "static_axes": {"seq": 64}, "static_axes_reason": "--strategy chose it"}
