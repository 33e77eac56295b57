"""The raw SavedModel's inputs bound to the PyTorch inputs by name and layout."""
from __future__ import annotations

import numpy as np
import pytest

from torch2tf.conversion.signature import plan_inputs
from torch2tf.errors import ConversionError
from torch2tf.specs import TensorSpec, channel_first_perm, channel_last_perm


def test_perms_are_inverse():
    for rank in (3, 4, 5):
        x = np.arange(np.prod(range(2, rank + 2))).reshape(range(2, rank + 2))
        assert np.array_equal(np.transpose(np.transpose(x, channel_last_perm(rank)), channel_first_perm(rank)), x)


def test_plan_inputs_detects_onnx2tf_channel_last():
    specs = [TensorSpec("image", (None, 3, 32, 32)), TensorSpec("tokens", (None, 16), "int64")]
    raw = {"image": ((None, 32, 32, 3), "float32"), "tokens": ((None, 16), "int64")}
    bindings, raw_batch = plan_inputs(specs, raw, [])
    assert [b.perm for b in bindings] == [[0, 2, 3, 1], None]
    assert raw_batch is None


def test_plan_inputs_fixed_batch_and_sanitized_names():
    specs = [TensorSpec("input:0", (None, 8, 4))]
    bindings, raw_batch = plan_inputs(specs, {"input_0": ((1, 4, 8), "float32")}, [])
    assert bindings[0].raw_name == "input_0" and bindings[0].perm == [0, 2, 1] and raw_batch == 1


def test_plan_inputs_kept_layout():
    bindings, _ = plan_inputs([TensorSpec("seq", (None, 8, 4))], {"seq": ((None, 8, 4), "float32")}, ["seq"])
    assert bindings[0].perm is None


def test_plan_inputs_unknown_name():
    with pytest.raises(ConversionError, match="no input matching 'image'"):
        plan_inputs([TensorSpec("image", (None, 3, 8, 8))], {"other": ((None, 8, 8, 3), "float32")}, [])
