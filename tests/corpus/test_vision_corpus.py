"""The vision corpus's manifest and builders (tests/corpus/vision.toml, vision.py), and the coverage
script's corpus selection: what `make coverage` and CI's share convert."""
from __future__ import annotations

import tomllib
from pathlib import Path

import torch

from scripts.coverage import CORPORA, _entries
from tests.corpus import vision
from torch2tf.inputs import make_inputs
from torch2tf.specs import parse_input_spec

ENTRIES = tomllib.loads(CORPORA["vision"].read_text())["model"]


def test_every_entry_names_a_builder_and_one_input():
    names = [e["name"] for e in ENTRIES]
    assert len(names) == len(set(names)) >= 40
    for entry in ENTRIES:
        path, _, builder = entry["model"].partition(":")
        assert Path(path) == Path("tests/corpus/vision.py") and callable(getattr(vision, builder)), entry["name"]
        assert len(entry["inputs"]) == 1 and entry["form"] in ("class", "reparameterized")


def test_ci_share_is_the_marked_vision_entries_and_the_whole_transformers_corpus():
    chosen = _entries(list(CORPORA), "ci", None)
    marked = {e["name"] for e in ENTRIES if e.get("ci")}
    assert {e["name"] for e in chosen if e["corpus"] == "vision"} == marked and 4 <= len(marked) < len(ENTRIES)
    transformers = tomllib.loads(CORPORA["transformers"].read_text())["model"]
    assert sum(e["corpus"] == "transformers" for e in chosen) == len(transformers)
    assert len(_entries(["vision"], "all", None)) == len(ENTRIES)


def test_torchvision_builders_run_beside_the_cpu_torch_with_informative_outputs():
    """PyPI's torchvision (a CUDA build) imports without its fake-kernel registrations; a recalibrated
    model's outputs vary from sample to sample on torch2tf's own image samples."""
    model = vision.shufflenet_v2_x0_5()
    assert not model.training
    feeds = make_inputs([parse_input_spec("x:Nx3x64x64")], batch=3, seed=0)
    with torch.no_grad():
        out = model(torch.from_numpy(feeds["x"]))
    assert out.shape == (3, vision.NUM_CLASSES) and torch.isfinite(out).all()
    assert float((out - out[0]).abs().max()) > 1e-2  # rows differ: not a constant output
