"""What the CLI prints: progress lines, the one error line, and the CI files (JUnit, Markdown)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from torch2tf.errors import Torch2TFError
from torch2tf.pipeline.options import StageEvent
from torch2tf.validate.junit import write_junit
from torch2tf.validate.markdown import render_markdown

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARITY = 0, 1, 2, 3


def fail(exc: Torch2TFError, as_json: bool = False) -> NoReturn:
    """One error line on stderr (and, with --json, the error as JSON on stdout); the error's exit code."""
    click.echo(f"error: {exc}", err=True)
    if as_json:
        click.echo(json.dumps({"passed": False, "error": exc.to_json()}, indent=2))
    sys.exit(exc.exit_code)


def print_event(event: StageEvent) -> None:
    if event.status == "start":
        click.echo(f"[{event.stage}] ...", err=True)
    elif event.status == "info":
        click.echo(f"[{event.stage}]   {event.detail}", err=True)
    else:
        mark = "ok" if event.status == "ok" else "FAILED"
        detail = f" — {event.detail}" if event.detail else ""
        click.echo(f"[{event.stage}] {mark} in {event.seconds:.1f}s{detail}", err=True)


def write_ci_files(report: dict, junit: Path | None, markdown: Path | None) -> None:
    if junit:
        write_junit(report, junit)
    if markdown:
        with open(markdown, "a") as fh:  # append: $GITHUB_STEP_SUMMARY collects several steps
            fh.write(render_markdown(report))
