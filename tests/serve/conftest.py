from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def repo(converted, tmp_path_factory) -> Path:
    """Two models, the first with two versions, packaged from the tiny CNN conversion."""
    from torch2tf.serve.repository import PackageOptions, package

    repo = tmp_path_factory.mktemp("serving") / "models"
    package(PackageOptions(source=converted, name="tiny", repo=repo))
    package(PackageOptions(source=converted, name="tiny", repo=repo))
    package(PackageOptions(source=converted, name="other", repo=repo, version=5))
    return repo


@pytest.fixture
def repo_copy(repo, tmp_path) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(repo, copy)
    return copy
