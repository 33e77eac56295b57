"""MODEL → a loaded torch module (or ONNX file), with forward()'s parameter names."""
from __future__ import annotations

import pytest

from torch2tf.errors import ModelLoadError, ModelRunError, UsageError
from torch2tf.model_source import load_model


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


def test_a_file_in_a_package_imports_its_package_absolutely(monkeypatch, tmp_path):
    """`tests/corpus/models.py:build` from a checkout: the file's `from tests.corpus.weights import …`
    resolves (the outermost package's directory joins sys.path), as it did only with PYTHONPATH=. before."""
    package = tmp_path / "zoo_pkg"
    (package / "nets").mkdir(parents=True)
    for init in (package / "__init__.py", package / "nets" / "__init__.py"):
        init.write_text("")
    (package / "layers.py").write_text("from torch import nn\n\ndef head():\n    return nn.Linear(4, 2)\n")
    (package / "nets" / "model.py").write_text("from zoo_pkg.layers import head\n\ndef build():\n    return head()\n")
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setattr("sys.path", [p for p in __import__("sys").path if p not in ("", str(tmp_path))])
    loaded = load_model(f"{package / 'nets' / 'model.py'}:build")
    assert type(loaded.module).__name__ == "Linear"


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


def test_named_outputs_follow_the_result_structure():
    import collections

    import torch

    from torch2tf.model_source import named_outputs

    a, b, c = torch.zeros(1), torch.ones(1), torch.full((1,), 2.0)
    pair = collections.namedtuple("Pair", "left right")
    assert [n for n, _ in named_outputs(a)] == ["output"]
    assert [n for n, _ in named_outputs((a, b))] == ["output_0", "output_1"]
    assert [n for n, _ in named_outputs((a, None))] == ["output"]  # None entries are dropped
    assert [n for n, _ in named_outputs({"logits": a, "loss": None, "hidden": (b, c)})] == \
        ["logits", "hidden_0", "hidden_1"]
    assert [n for n, _ in named_outputs(pair(a, b))] == ["left", "right"]
    with pytest.raises(ModelRunError, match="forward\\(\\) returned str"):
        named_outputs("text")
