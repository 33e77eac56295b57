"""The Python API: a model object defined here, converted, validated and packaged from Python."""
from __future__ import annotations

import re

import numpy as np
import pytest

import torch2tf
from tests.conftest import REPO
from torch2tf.binding import ForwardSignature, bind_inputs, left_at_default, with_arguments
from torch2tf.errors import UsageError


def _net():
    import torch
    from torch import nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4, 3)

        def forward(self, image, *, scale: float = 1.0, return_features: bool = False):
            features = torch.relu(self.conv(image)).mean(dim=(2, 3))
            logits = self.fc(features) * scale
            return (logits, features) if return_features else logits

    torch.manual_seed(0)
    return Scaled()


def test_importing_the_package_loads_no_pipeline():
    import subprocess
    import sys

    code = "import sys, torch2tf; print(any(m.startswith('torch2tf.pipeline') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
    assert callable(torch2tf.convert) and callable(torch2tf.validate)


def test_args_bind_as_constants_and_defaults_are_listed():
    def forward(image, mask=None, *, scale: float = 1.0, return_features: bool = False):
        return image

    signature = ForwardSignature.of(forward)
    binding = with_arguments(bind_inputs(signature, ["image"]), signature, {"scale": 2.0})
    assert binding.fixed["scale"] == 2.0
    assert left_at_default(binding, signature) == ["mask=None", "return_features=False"]
    with pytest.raises(UsageError, match="no parameter 'scael'") as wrong:
        with_arguments(bind_inputs(signature, ["image"]), signature, {"scael": 2.0})
    assert "image, mask, scale, return_features" in wrong.value.hint
    with pytest.raises(UsageError, match="already receives the input 'image'"):
        with_arguments(bind_inputs(signature, ["image"]), signature, {"image": 1})


@pytest.mark.parametrize("value, message", [("scale", "expected NAME=VALUE"), ("scale=two", "not a Python literal")])
def test_a_bad_arg_is_a_usage_error(value, message, tiny_models, cli_runner):
    from torch2tf.cli import main

    result = cli_runner.invoke(main, ["convert", f"{tiny_models}:build", "-i", "image:Nx3x8x8", "--arg", value])
    assert result.exit_code == 2 and message in result.output


def test_inputs_must_be_tensors_or_specs():
    with pytest.raises(UsageError, match="a dict of name"):
        torch2tf.convert(_net(), 42)


def test_example_tensors_name_their_dynamic_axes_in_the_specs_syntax():
    from torch2tf.api import _inputs
    from torch2tf.specs import Dim

    ids = np.zeros((2, 12), np.int64)
    specs, arrays = _inputs({"input_ids": ids, "attention_mask": ids}, True,
                            {"input_ids": {1: "seq=4..64"}, "attention_mask": {1: "{seq}"}})
    assert [s.shape_text() for s in specs] == ["Nx{seq=4..64}", "Nx{seq}"] and arrays["input_ids"] is ids
    assert specs[0].dims[1] == Dim("seq", 4, 64)
    with pytest.raises(UsageError, match="axis must be 1..1"):
        _inputs({"input_ids": ids}, True, {"input_ids": {0: "seq"}})
    with pytest.raises(UsageError, match="not example tensors"):
        _inputs({"input_ids": ids}, True, {"mask": {1: "seq"}})


@pytest.mark.slow
def test_a_model_object_converts_from_python(tmp_path):
    import torch

    net = _net().train()
    image = torch.randn(2, 3, 8, 8)
    result = torch2tf.convert(net, {"image": image}, tmp_path / "out", args={"scale": 2.0})
    assert result.passed and repr(result) == f"ConversionResult(passed, output={str(tmp_path / 'out')!r})"
    assert result.saved_model.is_dir() and result.onnx.is_file() and result.report_path.is_file()
    assert set(result.tflite) == {"tflite_float32", "tflite_float16"} and all(p.is_file() for p in result.tflite.values())
    assert net.training  # handed back as it came
    assert any("return_features=False" in note for note in result.report.notes)
    assert "input-data" in result.parity[0].samples  # the example tensors are a validation sample
    # --arg scale=2.0 reached the export: the artifact computes twice the model's default logits
    from torch2tf.validation.runners import OrtRunner

    with OrtRunner(result.onnx) as ort:
        exported = next(iter(ort.infer({"image": image.numpy()}).values()))
    with torch.no_grad():
        np.testing.assert_allclose(exported, net.eval()(image, scale=2.0).numpy(), atol=1e-5)
    assert "✅ PASSED" in result._repr_markdown_()
    assert torch2tf.validate(result.output, localize=False).passed
    version = torch2tf.package(result.output, "scaled", tmp_path / "models")
    assert (version / "saved_model.pb").is_file()


@pytest.mark.slow
def test_an_onnx_model_proto_converts(tmp_path):
    import onnx

    from tests.served_model import write_served_model

    proto = onnx.load(str(write_served_model(tmp_path / "served") / "model.onnx"))
    result = torch2tf.convert(proto, None, tmp_path / "out")
    assert result.passed and result.report.model == "ModelProto (a Python object, torch2tf.convert)"


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    text = (REPO / "README.md").read_text()
    code = re.search(r"<!-- readme-example: api -->\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    assert (tmp_path / "out" / "net" / "report.md").is_file()
