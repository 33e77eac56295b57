"""Shared fixtures: tiny models written as files, a seeded RNG, the CLI runner."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# Every test converts from scratch (an interrupted or timed-out onnx2tf must really run); the tests of
# the conversion cache turn it on with --cache-dir.
os.environ["TORCH2TF_NO_CACHE"] = "1"
TINY_MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class TinyCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4, 2)

        def forward(self, image):
            return self.fc(torch.relu(self.conv(image)).mean(dim=(2, 3)))


    class Strict(nn.Module):
        """Raises on any input that is not 8 features wide."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(x)


    def build():
        torch.manual_seed(0)
        return TinyCNN()


    def strict():
        torch.manual_seed(0)
        return Strict()


    def not_a_module():
        return 42


    def broken():
        raise RuntimeError("weights file missing")
''')


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_models(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_models.py"
    path.write_text(TINY_MODELS)
    return path


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``python -m torch2tf ...`` in a subprocess, like a user's shell would."""
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join([str(REPO), full_env.get("PYTHONPATH", "")])
    return subprocess.run([*prefix, sys.executable, "-m", "torch2tf", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Path:
    """A real convert output of the tiny CNN (dynamic batch), shared read-only by slow tests."""
    from click.testing import CliRunner

    from torch2tf.cli import main

    root = tmp_path_factory.mktemp("converted")
    (root / "tiny_models.py").write_text(TINY_MODELS)
    out = root / "converted"
    result = CliRunner().invoke(main, ["convert", f"{root / 'tiny_models.py'}:build", "-i", "image:Nx3x8x8",
                                       "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def served_model(tmp_path_factory) -> Path:
    """A small convert output written without a conversion (tests/served_model.py): what serving tests serve."""
    from tests.served_model import write_served_model

    return write_served_model(tmp_path_factory.mktemp("served") / "model")


@pytest.fixture(scope="session")
def repo(served_model, tmp_path_factory) -> Path:
    """Two models, the first with two versions, packaged from the small served model."""
    from torch2tf.serve.repository import PackageOptions, package

    repo = tmp_path_factory.mktemp("serving") / "models"
    package(PackageOptions(source=served_model, name="tiny", repo=repo))
    package(PackageOptions(source=served_model, name="tiny", repo=repo, new_version=True))
    package(PackageOptions(source=served_model, name="other", repo=repo, version=5))
    return repo


@pytest.fixture
def repo_copy(repo, tmp_path) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(repo, copy)
    return copy
