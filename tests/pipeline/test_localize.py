"""A deliberately broken conversion must be caught (exit 3) and localized to the broken node."""
from __future__ import annotations

import json

import pytest

from torch2tf.cli import main

pytestmark = pytest.mark.slow

DEEP_MODEL = '''
import torch
from torch import nn


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 4)

    def forward(self, image):
        return self.head(self.features(image).mean(dim=(2, 3)))


def build():
    torch.manual_seed(0)
    return Deep()
'''


def perturb_second_conv(model, index=None) -> str:
    """Stands in for an onnx2tf bug: the second Conv's weights change on the way to TensorFlow."""
    from onnx import numpy_helper

    conv = [n for n in model.graph.node if n.op_type == "Conv"][1]
    for init in model.graph.initializer:
        if init.name == conv.input[1]:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.5, init.name))
            return f"perturbed {conv.name}"
    raise AssertionError("no weight initializer for the second Conv")


def test_broken_conversion_is_caught_and_localized(tmp_path, monkeypatch, cli_runner):
    from torch2tf.conversion.rewrites import registry

    (tmp_path / "deep.py").write_text(DEEP_MODEL)
    declared = registry.registered()
    perturb = registry.Rewrite("perturb_second_conv", registry.FIX, perturb_second_conv)
    monkeypatch.setattr(registry, "registered", lambda: (*declared, perturb))
    out = tmp_path / "out"
    result = cli_runner.invoke(main, ["convert", f"{tmp_path / 'deep.py'}:build", "-i", "image:Nx3x16x16",
                                      "-o", str(out), "-q"])
    assert result.exit_code == 3, result.output
    report = json.loads((out / "report.json").read_text())
    failing = {p["target"] for p in report["parity"] if not p["passed"]}
    assert {"saved_model", "tflite_float32"} <= failing
    assert "onnxruntime" not in failing  # the export itself is right
    where = report["localization"]
    assert where["op_type"] == "Conv"
    assert where["module"] == "features.2"  # the second Conv of the Sequential
    assert where["source"].endswith("deep.py:15")  # the forward() line that calls self.features
    assert "Where it starts to differ" in (out / "report.md").read_text()
    assert "features.2" in (out / "report.md").read_text()
