"""The reliability suite: hostile input, interruption and concurrency, run as a user and an SRE would.

Every case runs the real CLI in its own process with a fresh TMPDIR and HOME, and checks what a
careful user checks: the exit code, one clear line and no traceback, and nothing left behind —
at -o, in TMPDIR, in HOME.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    tmp: Path
    home: Path

    @property
    def code(self) -> int:
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return self.proc.stderr

    def leftovers(self) -> list[str]:
        """Whatever the run left in its TMPDIR and HOME (both start empty)."""
        return sorted(str(p) for root in (self.tmp, self.home) for p in root.rglob("*"))


class Sandbox:
    """Runs ``python -m torch2tf`` with TMPDIR and HOME of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def env(self, home: Path | None = None) -> tuple[dict, Path, Path]:
        self.count += 1
        tmp, home = self.root / f"tmp{self.count}", home or self.root / f"home{self.count}"
        tmp.mkdir()
        home.mkdir(exist_ok=True)
        env = dict(os.environ, TMPDIR=str(tmp), HOME=str(home),
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        return env, tmp, home

    def run(self, *args: str, cwd: Path | None = None, timeout: int = 600, home: Path | None = None) -> Run:
        env, tmp, home = self.env(home)
        proc = subprocess.run([sys.executable, "-m", "torch2tf", *args], cwd=cwd or self.root, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return Run(proc, tmp, home)

    def start(self, *args: str, cwd: Path | None = None) -> tuple[subprocess.Popen, Path, Path]:
        env, tmp, home = self.env()
        proc = subprocess.Popen([sys.executable, "-m", "torch2tf", *args], cwd=cwd or self.root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return proc, tmp, home


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    return Sandbox(tmp_path)


def assert_one_clear_line(run: Run, code: int, message: str) -> None:
    """The exit code, the message, one error line and no traceback."""
    assert run.code == code, run.stderr[-2000:]
    assert message in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "Traceback" not in run.proc.stdout
    errors = [line for line in run.stderr.splitlines() if line.lower().startswith(("error", "usage"))]
    assert len([e for e in errors if e.lower().startswith("error")]) == 1, run.stderr


def assert_nothing_left(run: Run, *paths: Path) -> None:
    assert run.leftovers() == []
    for path in paths:
        assert not path.exists(), f"{path} was left behind"
    for path in paths:
        hidden = [p.name for p in path.parent.glob(f".{path.name}*")] if path.parent.exists() else []
        assert not hidden, f"staging left next to {path}: {hidden}"
