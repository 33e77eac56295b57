from __future__ import annotations

import numpy as np
import pytest

from torch2tf.convert.signature import (channel_first_perm, channel_last_perm, plan_inputs, plan_outputs)
from torch2tf.errors import ConversionError
from torch2tf.model_spec import InputSpec


def test_perms_are_inverse():
    for rank in (3, 4, 5):
        x = np.arange(np.prod(range(2, rank + 2))).reshape(range(2, rank + 2))
        assert np.array_equal(np.transpose(np.transpose(x, channel_last_perm(rank)), channel_first_perm(rank)), x)


def test_plan_inputs_detects_onnx2tf_channel_last():
    specs = [InputSpec("image", (None, 3, 32, 32)), InputSpec("tokens", (None, 16), "int64")]
    raw = {"image": ((None, 32, 32, 3), "float32"), "tokens": ((None, 16), "int64")}
    bindings, raw_batch = plan_inputs(specs, raw, [])
    assert [b.perm for b in bindings] == [[0, 2, 3, 1], None]
    assert raw_batch is None


def test_plan_inputs_fixed_batch_and_sanitized_names():
    specs = [InputSpec("input:0", (None, 8, 4))]
    bindings, raw_batch = plan_inputs(specs, {"input_0": ((1, 4, 8), "float32")}, [])
    assert bindings[0].raw_name == "input_0" and bindings[0].perm == [0, 2, 1] and raw_batch == 1


def test_plan_inputs_kept_layout():
    bindings, _ = plan_inputs([InputSpec("seq", (None, 8, 4))], {"seq": ((None, 8, 4), "float32")}, ["seq"])
    assert bindings[0].perm is None


def test_plan_inputs_unknown_name():
    with pytest.raises(ConversionError, match="no input matching 'image'"):
        plan_inputs([InputSpec("image", (None, 3, 8, 8))], {"other": ((None, 8, 8, 3), "float32")}, [])


def test_plan_outputs_matches_by_value_and_layout(rng):
    seg = rng.standard_normal((1, 5, 6, 6)).astype(np.float32)  # square spatial dims: shape alone is ambiguous
    logits = rng.standard_normal((1, 5)).astype(np.float32)
    raw = {"output_0": logits, "output_1": np.transpose(seg, channel_last_perm(4))}
    specs = [InputSpec("mask", (None, 5, 6, 6)), InputSpec("logits", (None, 5))]
    bindings = plan_outputs(specs, raw, {"mask": seg, "logits": logits})
    assert [(b.name, b.raw_name, b.perm) for b in bindings] == [
        ("mask", "output_1", [0, 3, 1, 2]), ("logits", "output_0", None)]


def test_plan_outputs_no_shape_match():
    with pytest.raises(ConversionError, match="no onnx2tf output has the shape"):
        plan_outputs([InputSpec("y", (None, 3))], {"output_0": np.zeros((1, 4))}, {"y": np.zeros((1, 3))})
