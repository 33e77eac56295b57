"""scripts/trained_models.py's list: every model comes from a pinned wheel, and a builder whose wheel
was not fetched says so instead of failing on an import."""
from __future__ import annotations

import pytest

from scripts.trained.facenet import pnet
from scripts.trained_models import MODELS, WHEELS


def test_every_model_names_a_pinned_wheel_and_its_inputs():
    names = [m[0] for m in MODELS]
    assert len(names) == len(set(names)) >= 8
    for name, package, model, inputs, what in MODELS:
        assert package in WHEELS and inputs and what, name
        assert model.endswith(".onnx") or model.startswith("scripts/trained/"), name


def test_a_builder_without_its_fetched_wheel_names_the_script(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH2TF_TRAINED_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="run scripts/trained_models.py"):
        pnet()
