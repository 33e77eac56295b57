"""What the CLI prints: progress lines, the one error line, and the CI files (JUnit, Markdown)."""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click

from torch2tf.errors import Torch2TFError
from torch2tf.records import ErrorRecord, FailedRun, Report, dumps
from torch2tf.stop import Terminated, raise_if_stopped, request_stop, stop_requested
from torch2tf.validation.junit import write_junit
from torch2tf.validation.markdown import render_markdown

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARITY = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM, as shells report them


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Make SIGTERM unwind like Ctrl-C, so staging and work directories are removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        request_stop()  # kept even if some library swallows the exception below
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interruptible(command):
    """An interrupted command says so in one line and exits 130 (Ctrl-C) or 143 (SIGTERM)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
        except Exception:
            # A library turned our SIGTERM into an error of its own (onnxruntime's import raises
            # ImportError("initialization failed") from it): still a termination, not a crash.
            if not stop_requested():
                raise
            terminated = True
        how = "terminated (SIGTERM)" if terminated else "interrupted"
        click.echo(f"{how}: stopped, nothing half-written was left", err=True)
        sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    return wrapper


def fail(exc: Torch2TFError, as_json: bool = False) -> NoReturn:
    """One error line on stderr (and, with --json, the error as JSON on stdout); the error's exit code."""
    raise_if_stopped()  # an error that a SIGTERM caused is reported as the termination it is
    click.echo(f"error: {exc}", err=True)
    if as_json:
        click.echo(dumps(FailedRun(ErrorRecord.of(exc)).to_json()), nl=False)
    sys.exit(exc.exit_code)


def check_writable(*paths: Path | None) -> None:
    """Refuse (exit 2) an output file that could not be written, before any slow work starts."""
    for path in paths:
        if path is None:
            continue
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            raise click.UsageError(f"{path} is a directory, not a file")
        if not parent.is_dir():
            raise click.UsageError(f"cannot write {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise click.UsageError(f"cannot write {path}: permission denied")


def write_ci_files(report: Report, junit: Path | None, markdown: Path | None) -> None:
    if junit:
        write_junit(report, junit)
    if markdown:
        append_markdown(markdown, render_markdown(report))


def append_markdown(path: Path, text: str) -> None:
    with open(path, "a") as fh:  # append: $GITHUB_STEP_SUMMARY collects several steps
        fh.write(text)
