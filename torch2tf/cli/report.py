"""``torch2tf report diff``: what a change did, between two reports."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from torch2tf.cli.options import COMMAND_SETTINGS
from torch2tf.cli.output import EXIT_OK, EXIT_PARITY, append_markdown, check_writable, fail, interruptible
from torch2tf.errors import Torch2TFError
from torch2tf.records import dumps
from torch2tf.validation.diff import DiffOptions, diff_reports
from torch2tf.validation.markdown import render_diff


@click.group(context_settings=COMMAND_SETTINGS)
def report():
    """Work with report.json files."""


@report.command(context_settings=COMMAND_SETTINGS)
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--regression-factor", type=click.FloatRange(min=1.0), default=2.0, show_default=True,
              help="An output's max or mean abs error may grow this many times before it is a regression.")
@click.option("--size-factor", type=click.FloatRange(min=1.0), default=1.2, show_default=True,
              help="An artifact may grow this many times before it is a regression (sizes from manifest.json).")
@click.option("--latency-factor", type=click.FloatRange(min=1.0), default=1.5, show_default=True,
              help="A runtime's median latency may grow this many times (when both reports were benched).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="Append the Markdown here (e.g. $GITHUB_STEP_SUMMARY) instead of printing it.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as JSON to this file.")
@interruptible
def diff(old, new, regression_factor, size_factor, latency_factor, markdown, json_path):
    """Compare two reports: OLD (e.g. the default branch's) and NEW (this change's).

    OLD and NEW are report.json files or convert output directories. Prints, per target and
    output, the error figures then and now with the change marked; artifact sizes and latencies
    (ratios); operators added or removed; a changed conversion strategy. Exit 3 when something
    regressed past a factor, or a check that passed now fails; 0 otherwise; 2 on a bad report.

    \b
    Examples:
      torch2tf report diff main-out/ out/
      torch2tf report diff baseline/report.json out/report.json --markdown "$GITHUB_STEP_SUMMARY"
    """
    check_writable(markdown, json_path)
    try:
        result = diff_reports(old, new, DiffOptions(factor=regression_factor, size_factor=size_factor,
                                                    latency_factor=latency_factor))
    except Torch2TFError as exc:
        fail(exc)
    text = render_diff(result)
    if markdown:
        append_markdown(markdown, text)
    else:
        click.echo(text)
    if json_path:
        json_path.write_text(dumps(result.to_json()))
    click.echo(f"{len(result.regressions)} regression(s), {len(result.improvements)} improvement(s)", err=True)
    sys.exit(EXIT_PARITY if result.regressed else EXIT_OK)
