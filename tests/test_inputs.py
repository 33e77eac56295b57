"""The model's inputs resolved from --input, .npz arrays and forward(); the validation samples."""
from __future__ import annotations

import numpy as np
import pytest

from torch2tf.errors import InputSpecError
from torch2tf.inputs import check_arrays_match, resolve_input_specs, validation_samples
from torch2tf.model_source import load_model
from torch2tf.specs import TensorSpec, parse_input_spec, unified


def test_specs_from_arrays_follow_forward_order(tiny_models):
    loaded = load_model(f"{tiny_models}:build")
    specs = resolve_input_specs(loaded, [], {"image": np.zeros((2, 3, 8, 8), np.float32)})
    assert specs == [TensorSpec("image", (None, 3, 8, 8), "float32")]


@pytest.mark.parametrize("arrays, message", [
    ({"image": np.zeros((2, 3, 8, 8), np.float64)}, "dtype mismatch for input 'image'"),
    ({"image": np.zeros((2, 3, 9, 8), np.float32)}, "shape mismatch for input 'image'"),
    ({"pixels": np.zeros((2, 3, 8, 8), np.float32)}, "missing \\['image'\\], unexpected \\['pixels'\\]"),
])
def test_arrays_must_match_input_specs(tiny_models, arrays, message):
    loaded = load_model(f"{tiny_models}:build")
    with pytest.raises(InputSpecError, match=message):
        resolve_input_specs(loaded, [parse_input_spec("image:Nx3x8x8")], arrays)


def test_torch_model_needs_inputs(tiny_models):
    loaded = load_model(f"{tiny_models}:build")
    with pytest.raises(InputSpecError, match="forward\\(\\) takes: image"):
        resolve_input_specs(loaded, [], None)


def test_too_many_inputs(tiny_models):
    loaded = load_model(f"{tiny_models}:build")
    with pytest.raises(InputSpecError, match="2 inputs given but forward\\(\\) takes 1"):
        resolve_input_specs(loaded, [parse_input_spec("a:Nx3"), parse_input_spec("b:Nx3")], None)


def test_validation_samples_are_seeded_and_named():
    specs = [TensorSpec("ids", (None, 6), "int64"), TensorSpec("attention_mask", (None, 6), "int64")]
    first = validation_samples(specs, seed=3, vocab={"ids": 7})
    again = validation_samples(specs, seed=3, vocab={"ids": 7})
    assert [s.name for s in first] == ["random-batch1", "random-batch3"]
    assert [s.feeds["ids"].shape for s in first] == [(1, 6), (3, 6)]
    assert all(np.array_equal(a.feeds["ids"], b.feeds["ids"]) for a, b in zip(first, again))
    assert max(int(s.feeds["ids"].max()) for s in first) < 7  # token ids stay below the embedding size
    mask = first[1].feeds["attention_mask"]
    assert set(np.unique(mask)) <= {0, 1} and (mask[:, 0] == 1).all()  # padding masks: ones, zeroed tail
    counted = validation_samples(specs, seed=3, vocab={}, count=3, prefix="request",
                                 arrays={"ids": np.zeros((2, 6), np.int64), "attention_mask": np.ones((2, 6), np.int64)})
    assert [s.name for s in counted] == ["request-0-batch1", "request-1-batch3", "request-2-batch1", "input-data"]
    static = validation_samples([TensorSpec("x", (1, 4))], seed=0, vocab={})
    assert [s.name for s in static] == ["random"]


def test_validation_samples_check_every_named_dim_at_two_sizes():
    specs = unified([parse_input_spec("ids:Nx{seq=4..32}:int64"), parse_input_spec("attention_mask:Nx{seq}:int64")])
    samples = validation_samples(specs, seed=3, vocab={"ids": 7})
    assert [s.name for s in samples] == ["random-batch1-seq4", "random-batch3-seq32"]
    # the inputs sharing {seq} have one length in each sample
    assert [(s.feeds["ids"].shape, s.feeds["attention_mask"].shape) for s in samples] == \
        [((1, 4), (1, 4)), ((3, 32), (3, 32))]
    fixed_batch = validation_samples([parse_input_spec("x:1x{t}")], seed=0, vocab={})
    assert [s.feeds["x"].shape for s in fixed_batch] == [(1, 8), (1, 16)]  # unbounded: UNBOUNDED_SIZES


def test_arrays_may_take_any_size_along_a_named_dim():
    specs = [parse_input_spec("x:Nx3x{t}")]
    check_arrays_match(specs, {"x": np.zeros((2, 3, 50), np.float32)})
    with pytest.raises(InputSpecError, match="shape mismatch"):
        check_arrays_match(specs, {"x": np.zeros((2, 4, 50), np.float32)})
