"""One model of a manifest: ``torch2tf convert`` in a process of its own, and the verdict it gives.

Verdicts: ``passed`` (exit 0: every artifact matches), ``limitation`` (exit 1 because the toolchain
cannot export or convert this model: a named limit, not a wrong answer) and ``failed`` (parity
failed, the model's own code failed, a bad option, a crash, a timeout). The function is plain and
picklable: the local pool calls it in a thread, a Ray task calls it on a worker.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from torch2tf.records import FailedRun, ModelResult, Report, parse_answer

EXIT_MEANINGS = {2: "bad option or input", 130: "interrupted", 143: "terminated (SIGTERM)", -9: "killed (SIGKILL)"}
GRACE_SECONDS = 30  # after SIGTERM, before SIGKILL: a convert removes its staging and work dirs meanwhile
_LIVE: set[subprocess.Popen] = set()  # children running in this process, for stop_all()
_LIVE_LOCK = threading.Lock()


@dataclass
class ConvertTask:
    name: str
    model: str
    args: list[str]  # convert's arguments after MODEL, without -o
    base_dir: str  # where relative paths in the manifest point: the conversion runs here
    output: str  # OUTDIR/NAME
    log: str  # OUTDIR/logs/NAME.log
    force: bool = False
    timeout_s: float | None = None


def run_task(task: ConvertTask) -> ModelResult:
    """Convert one model in a child process (a new session, so a timeout stops all it started)."""
    started = time.monotonic()
    argv = [sys.executable, "-m", "torch2tf", "convert", task.model, *task.args, "-o", task.output, "--json"]
    argv += ["--force"] if task.force else []
    Path(task.log).parent.mkdir(parents=True, exist_ok=True)
    with open(task.log, "w") as log:
        log.write("$ " + " ".join(argv) + f"\n  (in {task.base_dir})\n\n")
        log.flush()
        child = subprocess.Popen(argv, cwd=task.base_dir, stdout=subprocess.PIPE, stderr=log, text=True,
                                 start_new_session=True, env=_child_env())
        with _LIVE_LOCK:
            _LIVE.add(child)
        try:
            stdout, _ = child.communicate(timeout=task.timeout_s)
        except subprocess.TimeoutExpired:
            stop(child)
            return _result(task, "failed", f"timed out after {task.timeout_s:g} s (log: {task.log})", started,
                           None)
        except BaseException:  # interrupted (a cancelled Ray task): the child gets SIGTERM and cleans up first
            stop(child)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(child)
    return judge(task, child.returncode, stdout, started)


def _child_env() -> dict[str, str]:
    """The conversion's environment: ours, without the Ray token of a local instance."""
    return {**{k: v for k, v in os.environ.items() if k != "RAY_AUTH_TOKEN"}, "PYTHONUNBUFFERED": "1"}


def stop_all() -> None:
    """Stop every child this process is running (all at once: SIGTERM to each, then wait)."""
    with _LIVE_LOCK:
        children = list(_LIVE)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        stop(child)


def stop(child: subprocess.Popen) -> None:
    """SIGTERM to the child's process group, SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, 10)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def judge(task: ConvertTask, code: int, stdout: str, started: float) -> ModelResult:
    """The verdict of a finished ``convert``, from its exit code and its ``--json`` output (a report or an
    error record, whose ``kind`` says whether it is a named limit of the toolchain)."""
    answer = parse_answer(stdout)
    report = answer if isinstance(answer, Report) else None
    written = task.output if (Path(task.output) / "report.json").is_file() else None
    if code == 0:
        return _result(task, "passed", _passed_summary(report), started, code, written)
    if code == 3:
        return _result(task, "failed", _parity_reason(report), started, code, written)
    error = answer.error if isinstance(answer, FailedRun) else None
    message = ((error.message if error else "") or _last_line(task.log) or EXIT_MEANINGS.get(code, "crashed")
               ).splitlines()[0]
    verdict = "limitation" if code == 1 and error is not None and error.kind == "limitation" else "failed"
    stage = f"{error.stage}: " if error is not None and error.stage else ""
    meaning = EXIT_MEANINGS.get(code, "unexpected")
    exit_note = "" if code == 1 or message == meaning else f" (exit {code}: {meaning})"
    return _result(task, verdict, f"{stage}{message}{exit_note}"[:300], started, code, written)


def _result(task: ConvertTask, verdict: str, reason: str, started: float, code: int | None,
            output: str | None = None) -> ModelResult:
    return ModelResult(name=task.name, model=task.model, verdict=verdict, reason=reason,
                       seconds=round(time.monotonic() - started, 2), exit_code=code, output=output,
                       host=os.uname().nodename)


def _passed_summary(report: Report | None) -> str:
    targets = [entry.target for entry in report.parity if entry.passed] if report else []
    return f"parity holds: {', '.join(targets)}" if targets else "parity holds"


def _parity_reason(report: Report | None) -> str:
    for entry in report.parity if report else ():
        if entry.passed:
            continue
        for out in entry.outputs:
            if not out.passed:
                detail = out.note or f"max_abs {out.max_abs:.3g} > atol {out.atol}"
                return f"parity failed: {entry.target} output '{out.name}': {detail}"[:300]
        return f"parity failed: {entry.target}: {'; '.join(entry.errors)}"[:300]
    return "parity failed (see report.md)"


def _last_line(log: str) -> str:
    try:
        lines = [line for line in Path(log).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or [""])[-1].removeprefix("error: ")
