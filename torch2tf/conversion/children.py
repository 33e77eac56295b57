"""The child processes a conversion runs (onnxsim's passes, onnx2tf), started for their work or ahead of it.

Each child spends seconds importing before it does anything (onnx2tf and TensorFlow ~4 s, onnxsim,
which imports torch, ~3 s). A pipeline knows early that it will need them, so it starts them ahead
(``started_ahead``): they import while the parent loads and exports the model, then wait on stdin
for one line saying what to do. They run at a lower priority (``yield_to_parent``): on 2 cores,
two children importing at the parent's priority slowed its model load and export by more than
their head start saved, and a run whose export and conversion come from the cache needs neither
(ResNet example: first convert 7.2 → 6.0 s, second 4.3 → 3.2 s). A run that finds no child of its
kind waiting starts one for its work. The onnx2tf child is offline (a network namespace of its own
where the machine allows it) and writes everything to its request's log.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ONNX2TF_MODULE = "torch2tf.conversion.onnx_to_tf"
ONNXSIM_MODULE = "torch2tf.conversion.onnxsim_child"
WAIT_FLAG = "--wait"
AHEAD_NICENESS = 10  # added to a child's nice value while it imports ahead (it keeps it for its work)
_NOISE = re.compile(r"^(I0000|W0000|E0000|WARNING: All log messages|To enable the following|"
                    r"\S+\.cc:\d+\]|TORCH2TF-(STARTED-AHEAD|JOB-START|JOB-OK|NODES)|\s*$)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ahead: contextvars.ContextVar[Ahead | None] = contextvars.ContextVar("children_ahead", default=None)


class ChildAhead:
    """A child started before its work: it imports, then reads one line from stdin (EOF: nothing to do)."""

    def __init__(self, command: list[str], work_dir: Path, log_path: Path) -> None:
        self.log_path = log_path  # what it prints from the start
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=work_dir, env=child_env(), stdin=subprocess.PIPE,
                                            stdout=log, stderr=subprocess.STDOUT)

    def hand_over(self, line: str) -> bool:
        """Give the child its work; False when it is gone (it died while importing)."""
        try:
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            self.close()
            return False
        return True

    def wait(self, timeout_s: float) -> int | None:
        return wait_or_kill(self.process, timeout_s)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Ahead:
    """The children started ahead for one pipeline run (see ``started_ahead``)."""

    def __init__(self, directory: Path, onnx2tf_runs: int) -> None:
        self.directory = directory
        self.children: dict[str, ChildAhead] = {}
        self.onnx2tf_left = onnx2tf_runs  # onnx2tf children still to start ahead
        self.started = 0

    def start(self, kind: str) -> None:
        self.started += 1
        log = self.directory / f"{kind}-{self.started}.log"
        if kind == "onnx2tf":
            self.onnx2tf_left -= 1
            command = [*offline_prefix(), sys.executable, "-m", ONNX2TF_MODULE, WAIT_FLAG, str(log)]
        else:
            command = [sys.executable, "-m", ONNXSIM_MODULE, WAIT_FLAG]
        self.children[kind] = ChildAhead(command, self.directory, log)

    def take(self, kind: str) -> ChildAhead | None:
        """The waiting child of this kind; the next onnx2tf child starts importing now, if one is expected."""
        child = self.children.pop(kind, None)
        if child is not None and kind == "onnx2tf" and self.onnx2tf_left > 0:
            self.start(kind)
        return child

    def stop(self) -> None:
        """Stop every child not taken yet (its work will not come: e.g. the conversion is cached)."""
        self.onnx2tf_left = 0
        for child in self.children.values():
            child.close()
        self.children.clear()


def yield_to_parent() -> None:
    """Called first by a child started ahead: the parent's own work comes before its imports."""
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(AHEAD_NICENESS)


@contextlib.contextmanager
def started_ahead(work_dir: Path, onnx2tf_runs: int = 1) -> Iterator[Ahead]:
    """Within this block, onnxsim's first run and the first ``onnx2tf_runs`` onnx2tf runs in this
    thread take a child started ahead (the first ones now, each next one when the one before is
    taken); one not taken is stopped on the way out."""
    directory = work_dir / "children-ahead"
    directory.mkdir(parents=True, exist_ok=True)
    ahead = Ahead(directory, onnx2tf_runs)
    token = _ahead.set(ahead)
    try:
        if onnx2tf_runs > 0:
            ahead.start("onnx2tf")
        ahead.start("onnxsim")
        yield ahead
    finally:
        _ahead.reset(token)
        ahead.stop()


def take_ahead(kind: str) -> ChildAhead | None:
    """The child of this kind started ahead in this thread; None when there is none."""
    ahead = _ahead.get()
    return ahead.take(kind) if ahead is not None else None


def run_onnx2tf_child(payload_path: Path, log_path: Path, timeout_s: int) -> int | None:
    """Run the onnx2tf child on the request at ``payload_path``; its output goes to ``log_path``.
    The return code, or None when it timed out (then it is killed)."""
    child = take_ahead("onnx2tf")
    if child is not None and child.hand_over(f"{payload_path}\t{log_path}"):
        return child.wait(timeout_s)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*offline_prefix(), sys.executable, "-m", ONNX2TF_MODULE, str(payload_path)],
                                   cwd=payload_path.parent, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    return wait_or_kill(process, timeout_s)


def wait_or_kill(process: subprocess.Popen, timeout_s: float) -> int | None:
    """The return code; None after a timeout. A child is never left behind: killed on a timeout or an interrupt."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
    except BaseException:
        process.kill()
        process.wait()
        raise


# The TFLite converter prefixes its MLIR errors with the Python frames that built the op (".../tf_keras/src/
# utils/traceback_utils.py:96:1: error: 'tf.Reshape' op requires …"): the message, not the frames, is the reason.
SOURCE_LOCATION = re.compile(r"(?:/[^\s:]+\.py:\d+:\d+:\s*)+")


def summarize_log(log_path: Path, max_lines: int = 4, returncode: int | None = None) -> str:
    """The reason onnx2tf gave: our child's verdict line, else the last non-noise lines, else how it ended."""
    lines = [ANSI.sub("", ln).rstrip() for ln in log_path.read_text(errors="replace").splitlines()]
    verdicts = [ln.split("TORCH2TF-FAILURE:", 1)[1].strip() for ln in lines if "TORCH2TF-FAILURE:" in ln]
    op_names = [ln.split("onnx_op_name:", 1)[1].strip() for ln in lines if "onnx_op_name:" in ln]
    if verdicts:
        where = f" (at ONNX node {op_names[-1]})" if op_names else ""
        return SOURCE_LOCATION.sub("", verdicts[-1]) + where
    meaningful = [ln for ln in lines if not _NOISE.match(ln)]
    if meaningful:
        return " | ".join(meaningful[-max_lines:])
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"the onnx2tf process was killed by {signal.Signals(-returncode).name}, with no message"
    return "no output (crashed?)"


@functools.cache
def offline_prefix() -> tuple[str, ...]:
    """``unshare`` into a network namespace of its own, where the machine allows it.

    The child then has no network at all: native code (TensorFlow, onnxruntime) cannot reach it
    either, not only Python sockets. Without user or network namespaces the Python guard remains.
    """
    for prefix in (("unshare", "--user", "--map-root-user", "--net"), ("unshare", "--net")):
        if shutil.which(prefix[0]) is None:
            return ()
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # onnx2tf runs `onnxsim` as a subprocess: the venv's bin/ must be on PATH.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in [_package_root(), env.get("PYTHONPATH", "")] if p)
    return env


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])
