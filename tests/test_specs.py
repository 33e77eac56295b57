"""--input text → TensorSpec."""
from __future__ import annotations

import pytest

from torch2tf.errors import InputSpecError
from torch2tf.specs import TensorSpec, parse_input_spec


@pytest.mark.parametrize("text, expected", [
    ("image:Nx3x224x224", TensorSpec("image", (None, 3, 224, 224), "float32")),
    ("tokens:batchx32:int64", TensorSpec("tokens", (None, 32), "int64")),
    ("x:2x8:float16", TensorSpec("x", (2, 8), "float16")),
    ("mask:Nx16:bool", TensorSpec("mask", (None, 16), "bool")),
    ("ids:1x4:int32", TensorSpec("ids", (1, 4), "int32")),
])
def test_parse_input_spec(text, expected):
    assert parse_input_spec(text) == expected


@pytest.mark.parametrize("text, message", [
    ("image", "expected NAME:SHAPE"),
    ("image:3x224:float64", "float64"),
    ("image:3xNx224", "only the leading"),
    ("image:3x0x2", "not a positive size"),
    ("image:3xax2", "not a positive size"),
    ("9image:3x2", "must be an identifier"),
    (":3x2", "expected NAME:SHAPE"),
])
def test_parse_input_spec_rejects(text, message):
    with pytest.raises(InputSpecError, match=message):
        parse_input_spec(text)
