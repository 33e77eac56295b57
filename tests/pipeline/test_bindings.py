"""onnx2tf's outputs bound to the PyTorch outputs by value and layout."""
from __future__ import annotations

import numpy as np
import pytest

from torch2tf.errors import ConversionError
from torch2tf.pipeline.bindings import bind_outputs
from torch2tf.specs import TensorSpec, channel_last_perm


def test_bind_outputs_matches_by_value_and_layout(rng):
    seg = rng.standard_normal((1, 5, 6, 6)).astype(np.float32)  # square spatial dims: shape alone is ambiguous
    logits = rng.standard_normal((1, 5)).astype(np.float32)
    raw = {"output_0": logits, "output_1": np.transpose(seg, channel_last_perm(4))}
    specs = [TensorSpec("mask", (None, 5, 6, 6)), TensorSpec("logits", (None, 5))]
    bindings = bind_outputs(specs, raw, {"mask": seg, "logits": logits})
    assert [(b.name, b.raw_name, b.perm) for b in bindings] == [
        ("mask", "output_1", [0, 3, 1, 2]), ("logits", "output_0", None)]


def test_bind_outputs_no_shape_match():
    with pytest.raises(ConversionError, match="no onnx2tf output has the shape"):
        bind_outputs([TensorSpec("y", (None, 3))], {"output_0": np.zeros((1, 4))}, {"y": np.zeros((1, 3))})
