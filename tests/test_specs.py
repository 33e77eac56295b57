"""--input text → TensorSpec."""
from __future__ import annotations

import pytest

from torch2tf.errors import InputSpecError
from torch2tf.specs import Dim, TensorSpec, parse_input_spec, sample_sizes, unified


@pytest.mark.parametrize("text, expected", [
    ("image:Nx3x224x224", TensorSpec("image", (None, 3, 224, 224), "float32")),
    ("tokens:batchx32:int64", TensorSpec("tokens", (None, 32), "int64")),
    ("x:2x8:float16", TensorSpec("x", (2, 8), "float16")),
    ("mask:Nx16:bool", TensorSpec("mask", (None, 16), "bool")),
    ("ids:1x4:int32", TensorSpec("ids", (1, 4), "int32")),
    ("ids:Nx{seq}:int64", TensorSpec("ids", (None, None), "int64", (None, Dim("seq")))),
    ("ids:{batch}x{seq=1..512}:int64", TensorSpec("ids", (None, None), "int64", (None, Dim("seq", 1, 512)))),
    ("image:Nx3x{height=32..96}x{width}", TensorSpec("image", (None, 3, None, None), "float32",
                                                      (None, None, Dim("height", 32, 96), Dim("width")))),
])
def test_parse_input_spec(text, expected):
    assert parse_input_spec(text) == expected


@pytest.mark.parametrize("text, message", [
    ("image", "expected NAME:SHAPE"),
    ("image:3x224:float64", "float64"),
    ("image:3xNx224", "N is the batch"),
    ("ids:{seq}x4", "N is the batch, axis 0 only"),
    ("ids:Nx{seq=0..4}", "1 <= LOW <= HIGH"),
    ("ids:Nx{seq=9..4}", "1 <= LOW <= HIGH"),
    ("ids:Nx{seq=4}", "not a positive size"),
    ("image:3x0x2", "not a positive size"),
    ("image:3xax2", "not a positive size"),
    ("9image:3x2", "must be an identifier"),
    (":3x2", "expected NAME:SHAPE"),
])
def test_parse_input_spec_rejects(text, message):
    with pytest.raises(InputSpecError, match=message):
        parse_input_spec(text)


def test_named_dims_round_trip_through_json_and_text():
    spec = parse_input_spec("ids:Nx{seq=2..64}x{xdim}:int64")  # an x inside braces is part of the name
    assert spec.dims == (None, Dim("seq", 2, 64), Dim("xdim"))
    assert spec.shape_text() == "Nx{seq=2..64}x{xdim}"
    assert TensorSpec.from_json(spec.to_json()) == spec
    assert spec.concrete_shape(3, {"seq": 5}) == (3, 5, Dim("xdim").trace_size)


def test_shared_dims_take_the_bounds_given_once_and_refuse_two():
    ids, mask = parse_input_spec("ids:Nx{seq=4..32}:int64"), parse_input_spec("mask:Nx{seq}:int64")
    assert [s.dims[1] for s in unified([ids, mask])] == [Dim("seq", 4, 32)] * 2
    # the first sample takes each dim's low size, the second its high one: the bounds are checked
    assert [sample_sizes([ids, mask], i) for i in range(2)] == [{"seq": 4}, {"seq": 32}]
    with pytest.raises(InputSpecError, match="two different bounds"):
        unified([ids, parse_input_spec("mask:Nx{seq=1..8}:int64")])
