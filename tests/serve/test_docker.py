"""The real TF Serving image: build REPO's Dockerfile, run it, smoke it. Needs a Docker daemon."""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
import uuid

import pytest

from torch2tf.cli import main


def _docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


pytestmark = [pytest.mark.docker, pytest.mark.slow,
              pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon answers here")]


def test_image_serves_the_repository(repo, converted, cli_runner):
    tag = f"torch2tf-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-t", tag, str(repo)], check=True, timeout=1800)
    container = subprocess.run(["docker", "run", "-d", "-p", "127.0.0.1::8501", "-p", "127.0.0.1::8500", tag],
                               check=True, capture_output=True, text=True).stdout.strip()
    try:
        ports = {}
        for inner in (8501, 8500):
            mapping = subprocess.run(["docker", "port", container, str(inner)], check=True, capture_output=True,
                                     text=True).stdout.split()[0]
            ports[inner] = int(mapping.rsplit(":", 1)[1])
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ports[8501]}/v1/models/tiny", timeout=5)
                break
            except OSError:
                time.sleep(2)
        for url in (f"http://127.0.0.1:{ports[8501]}", f"grpc://127.0.0.1:{ports[8500]}"):
            result = cli_runner.invoke(main, ["smoke", url, "--model", "tiny", "--from", str(converted),
                                              "--requests", "4"])
            assert result.exit_code == 0, result.output
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
