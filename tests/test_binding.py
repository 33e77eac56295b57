"""How --input names reach forward(): by keyword where a parameter has the name, else by position."""
from __future__ import annotations

import pytest

from torch2tf.binding import ForwardSignature, bind_inputs
from torch2tf.errors import InputSpecError


def gpt2_like(input_ids, past_key_values=None, attention_mask=None, use_cache=None, **kwargs): ...


def wrapper(*args): ...


def image_model(image): ...


def mixed(x, *rest, scale=1.0): ...


def test_names_bind_by_keyword_whatever_the_order():
    binding = bind_inputs(ForwardSignature.of(gpt2_like), ["attention_mask", "input_ids"])
    args, kwargs = binding.split({"input_ids": 1, "attention_mask": 2})
    assert args == () and kwargs == {"attention_mask": 2, "input_ids": 1, "use_cache": False}
    assert binding.order == ["attention_mask", "input_ids"]  # how exporters flatten the inputs
    assert binding.dynamic_shapes({"input_ids": "B", "attention_mask": "B"}) == {"attention_mask": "B",
                                                                                 "input_ids": "B"}


def test_unknown_names_take_the_next_free_parameter():
    binding = bind_inputs(ForwardSignature.of(image_model), ["pixels"])
    assert binding.split({"pixels": 7}) == ((), {"image": 7})
    assert binding.dynamic_shapes({"pixels": "B"}) == {"image": "B"}


def test_varargs_wrapper_gets_everything_by_position():
    binding = bind_inputs(ForwardSignature.of(wrapper), ["input_ids", "attention_mask"])
    assert binding.split({"input_ids": 1, "attention_mask": 2}) == ((1, 2), {})
    assert binding.dynamic_shapes({"input_ids": "B", "attention_mask": None}) == {"args": ("B", None)}


def test_named_parameter_before_varargs():
    binding = bind_inputs(ForwardSignature.of(mixed), ["x", "y"])
    assert binding.split({"x": 1, "y": 2}) == ((1, 2), {})
    assert binding.dynamic_shapes({"x": "B", "y": "C"}) == {"x": "B", "rest": ("C",)}
    with pytest.raises(InputSpecError, match="give --input in forward\\(\\)'s order"):
        bind_inputs(ForwardSignature.of(mixed), ["y", "x"])


def test_too_many_inputs_is_a_clear_error():
    with pytest.raises(InputSpecError, match="2 inputs given but forward\\(\\) takes 1: image"):
        bind_inputs(ForwardSignature.of(image_model), ["a", "b"])


def test_use_cache_is_only_fixed_for_python_modules_and_when_unbound():
    assert bind_inputs(ForwardSignature.of(gpt2_like), ["input_ids"], fixed_keywords=False).fixed == {}
    bound = bind_inputs(ForwardSignature.of(gpt2_like), ["input_ids", "use_cache"])
    assert bound.fixed == {}
