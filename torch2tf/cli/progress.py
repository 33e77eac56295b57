"""Progress a person can follow: the stage lines, and while a stage runs, its elapsed time and what it is
doing (``torch2tf.progress``: onnx2tf's nodes converted / total).

On a terminal the running stage's line is redrawn in place with a spinner; elsewhere (CI logs, pipes) a
plain line says the stage is still running every ``PLAIN_EVERY_S`` seconds, so no log goes silent.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator

import click

from torch2tf.native_logs import original_stderr_fd
from torch2tf.pipeline.options import StageEvent
from torch2tf.progress import current_activity

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
REDRAW_S = 0.2
PLAIN_EVERY_S = 15.0


class ProgressPrinter:
    """The CLI's ``on_event``: prints each event's line; ticks while a stage runs."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = _interactive() if interactive is None else interactive
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._drawn = False  # a spinner line is on the terminal, to be cleared before the next line
        self._stage, self._since = "", time.monotonic()  # the running stage and when it started

    def __call__(self, event: StageEvent) -> None:
        self._stop_ticking()
        self._print(event.line())
        if event.status == "start":
            self._stage, self._since = event.stage, time.monotonic()  # the stage's clock, kept across its info lines
        if event.status in ("start", "info"):
            self._start_ticking()

    def close(self) -> None:
        self._stop_ticking()

    def _print(self, line: str) -> None:
        with self._lock:
            if self._drawn:
                _write("\r\x1b[K")
                self._drawn = False
            _write(line + "\n")

    def _start_ticking(self) -> None:
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="torch2tf-progress", daemon=True)
        self._ticker.start()

    def _stop_ticking(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None

    def _tick(self) -> None:
        frame = 0
        wait = REDRAW_S if self.interactive else PLAIN_EVERY_S
        while not self._stop.wait(wait):
            elapsed = time.monotonic() - self._since
            doing = current_activity()
            status = f"{elapsed:.0f}s" + (f" · {doing}" if doing else "")
            with self._lock:
                if self._stop.is_set():
                    return
                if self.interactive:
                    _write(f"\r\x1b[K[{self._stage}] {SPINNER[frame % len(SPINNER)]} {status}")
                    self._drawn = True
                    frame += 1
                else:
                    _write(f"[{self._stage}] … still running, {status}\n")


def _write(text: str) -> None:
    """To the terminal, also while TensorFlow's import has fd 2 captured (native_logs) — else the line
    would land in that capture and come out glued to TensorFlow's messages."""
    fd = original_stderr_fd()
    if fd is None:
        click.echo(text, nl=False, err=True, color=True)  # the spinner's \x1b[K is drawn on terminals only
    else:
        os.write(fd, text.encode())


def _interactive() -> bool:
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM", "") not in ("", "dumb") \
        and "CI" not in os.environ


@contextlib.contextmanager
def progress_lines(quiet: bool) -> Iterator[ProgressPrinter | None]:
    """The ``on_event`` a command hands the pipeline (None when quiet); its ticker stops on the way out,
    before the command prints its verdict or its error line."""
    if quiet:
        yield None
        return
    printer = ProgressPrinter()
    try:
        yield printer
    finally:
        printer.close()
