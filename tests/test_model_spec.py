from __future__ import annotations

import numpy as np
import pytest

from torch2tf.errors import InputSpecError, ModelLoadError, UsageError
from torch2tf.model_spec import InputSpec, load_model, parse_input_spec, resolve_input_specs


@pytest.mark.parametrize("text, expected", [
    ("image:Nx3x224x224", InputSpec("image", (None, 3, 224, 224), "float32")),
    ("tokens:batchx32:int64", InputSpec("tokens", (None, 32), "int64")),
    ("x:2x8:float16", InputSpec("x", (2, 8), "float16")),
    ("mask:Nx16:bool", InputSpec("mask", (None, 16), "bool")),
    ("ids:1x4:int32", InputSpec("ids", (1, 4), "int32")),
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


def test_load_callable_from_file_puts_model_in_eval_mode(tiny_models):
    loaded = load_model(f"{tiny_models}:build")
    assert loaded.kind == "callable"
    assert loaded.module.training is False
    assert loaded.forward_params == ["image"]


def test_load_module_class(tiny_models):
    loaded = load_model(f"{tiny_models}:TinyCNN")
    assert type(loaded.module).__name__ == "TinyCNN"


def test_load_package_module_callable(monkeypatch, tiny_models):
    monkeypatch.syspath_prepend(str(tiny_models.parent))
    loaded = load_model("tiny_models:strict")
    assert loaded.forward_params == ["x"]


@pytest.mark.parametrize("suffix, error, message", [
    (":nope", ModelLoadError, "no callable named 'nope'"),
    (":not_a_module", ModelLoadError, "returned int, not a torch.nn.Module"),
    (":broken", ModelLoadError, "weights file missing"),
])
def test_load_errors(tiny_models, suffix, error, message):
    with pytest.raises(error, match=message):
        load_model(f"{tiny_models}{suffix}")


def test_missing_model_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_model(f"{tmp_path}/absent.py:build")
    with pytest.raises(UsageError, match="not found"):
        load_model(f"{tmp_path}/absent.onnx")


def test_unimportable_module(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot import module"):
        load_model("no_such_package_xyz.models:build")


def test_torchscript_and_exported_program(tmp_path, tiny_models):
    import torch

    module = load_model(f"{tiny_models}:build").module
    scripted = torch.jit.trace(module, torch.randn(1, 3, 8, 8))
    scripted.save(str(tmp_path / "m.pt"))
    assert load_model(str(tmp_path / "m.pt")).kind == "torchscript"
    program = torch.export.export(module, (torch.randn(2, 3, 8, 8),))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    loaded = load_model(str(tmp_path / "m.pt2"))
    assert loaded.kind == "exported_program" and loaded.forward_params == ["image"]


def test_corrupt_torchscript_file(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="not a TorchScript file"):
        load_model(str(tmp_path / "bad.pt"))


def test_specs_from_arrays_follow_forward_order(tiny_models):
    loaded = load_model(f"{tiny_models}:build")
    specs = resolve_input_specs(loaded, [], {"image": np.zeros((2, 3, 8, 8), np.float32)})
    assert specs == [InputSpec("image", (None, 3, 8, 8), "float32")]


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
