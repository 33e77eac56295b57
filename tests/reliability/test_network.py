"""The network and the disk outside our directories: no telemetry, no reach from the onnx2tf child, no litter."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import TINY_MODELS
from torch2tf.conversion.children import child_env, offline_prefix


def test_onnxruntime_telemetry_is_off_everywhere():
    import os

    import torch2tf  # noqa: F401  (importing the package is what switches it off)

    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"
    assert child_env()["ORT_DISABLE_TELEMETRY"] == "1"  # the onnx2tf child inherits it


def test_the_onnx2tf_child_cannot_reach_the_network():
    """Native code included: the child runs in a network namespace of its own, where the host can."""
    prefix = offline_prefix()
    if not prefix:
        pytest.skip("no user or network namespaces here: only the Python-level guard applies")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        probe = subprocess.run([*prefix, sys.executable, "-c",
                                f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode != 0 and "Network is unreachable" in probe.stderr  # not even loopback is up
        direct = subprocess.run([sys.executable, "-c",
                                 f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"],
                                capture_output=True, text=True, timeout=60)
        assert direct.returncode == 0  # the same probe outside the namespace does connect


@pytest.mark.slow
def test_a_conversion_leaves_nothing_in_tmp_or_home(sandbox, tmp_path):
    """torch's inductor cache, ~/.keras, onnxruntime's device id and session files: all kept inside the run."""
    (tmp_path / "tiny_models.py").write_text(TINY_MODELS)
    run = sandbox.run("convert", f"{tmp_path / 'tiny_models.py'}:build", "-i", "image:Nx3x8x8", "-o",
                      str(tmp_path / "out"), "-q")
    assert run.code == 0, run.stderr[-2000:]
    assert run.leftovers() == []
