"""``torch2tf validate`` and ``torch2tf bench``: parity and speed of an existing convert output."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from torch2tf.cli.options import (
    COMMAND_SETTINGS,
    ci_file_options,
    json_option,
    no_localize_option,
    quiet_option,
    seed_option,
    strict_option,
    tolerance_option,
)
from torch2tf.cli.output import EXIT_OK, EXIT_PARITY, check_writable, fail, interruptible, write_ci_files
from torch2tf.errors import Torch2TFError
from torch2tf.perf.bench import BenchOptions, run_bench
from torch2tf.perf.profile import run_profile
from torch2tf.pipeline.revalidate import revalidate
from torch2tf.records import BenchRow, dumps
from torch2tf.validation.directory import ValidateOptions
from torch2tf.validation.markdown import bench_table, parity_table, profile_table, summary_line


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--input-data", type=click.Path(dir_okay=False, path_type=Path),
              help="An .npz of real inputs (named like the model's inputs) validated on top of random samples.")
@click.option("--samples", type=int, default=2, show_default=True,
              help="Random samples, alternating batch 1 and batch 3 when the batch is dynamic.")
@tolerance_option
@strict_option
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="A report.json of an earlier model version: fail when an error figure got worse.")
@click.option("--regression-factor", type=click.FloatRange(min=1.0), default=2.0, show_default=True,
              help="With --baseline: how many times larger an error may grow before it is a regression.")
@ci_file_options
@no_localize_option
@seed_option
@quiet_option
@json_option
@interruptible
def validate(directory, input_data, samples, tolerances, strict, baseline, regression_factor, junit, markdown, no_localize,
             seed, quiet, as_json):
    """Re-run parity on the artifacts in DIRECTORY (a convert output) against onnxruntime.

    \b
    Examples:
      torch2tf validate out/ --input-data real_batch.npz --samples 16
      torch2tf validate out/ --tolerance fp32:atol=1e-5
      torch2tf validate out/ --junit parity.xml --markdown parity.md
      torch2tf validate out/ --baseline previous/report.json --regression-factor 1.5

    Exit codes like convert: 0 parity holds, 3 it does not (or an error figure regressed against
    --baseline), 1/2 on a broken or foreign directory or bad options. The new results replace the
    parity section of DIRECTORY/report.json and report.md.
    """
    check_writable(junit, markdown)
    options = ValidateOptions(directory=directory, input_data=input_data, samples=samples,
                              tolerances=list(tolerances), baseline=baseline, regression_factor=regression_factor,
                              localize=not no_localize, seed=seed, strict=strict)

    def on_stage(name: str, seconds: float, detail: str) -> None:
        if not quiet:
            click.echo(f"[{name}] done in {seconds:.1f}s — {detail}", err=True)

    try:
        report = revalidate(options, on_stage)
    except Torch2TFError as exc:
        fail(exc)
    write_ci_files(report, junit, markdown)
    if as_json:
        click.echo(dumps(report.to_json()), nl=False)
    if not quiet:
        click.echo("\n".join([summary_line(report), "", *parity_table(report)]), err=True)
    sys.exit(EXIT_OK if report.passed else EXIT_PARITY)


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads for every runtime (torch, onnxruntime, TensorFlow, TFLite).")
@click.option("--batch", "batches", default="1", show_default=True, help="Comma-separated batch sizes, e.g. 1,8.")
@click.option("--rounds", type=click.IntRange(min=3), default=20, show_default=True,
              help="Timed runs per runtime (in blocks of 10, the runtimes in turn), after 3 warm-up runs.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw a PNG: latency (log scale) and size of every artifact, per batch size "
                   "(pip install 'torch2tf[plot]').")
@click.option("--profile", is_flag=True,
              help="Instead of the latency table: where the time goes, operator by operator — LiteRT and "
                   "onnxruntime side by side (time, count, share), TRANSPOSE count, ops XNNPACK does not take.")
@click.option("--profile-target", default="tflite_float32", show_default=True,
              help="The TFLite variant --profile looks at, e.g. tflite_integer_quant.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Operators per side in the --profile table.")
@interruptible
def bench(directory, threads, batches, rounds, plot, profile, profile_target, top):
    """Latency, throughput and size of every artifact in DIRECTORY, side by side.

    Torch eager (when MODEL still loads from here), onnxruntime, the SavedModel and every TFLite
    variant run the same inputs with the same thread count. The table (ratios against
    onnxruntime) is printed and written into report.json/report.md.

    \b
    Examples:
      torch2tf bench out/ --threads 2 --batch 1,8
      torch2tf bench out/ --plot bench.png
      torch2tf bench out/ --profile --profile-target tflite_integer_quant
    """
    if profile:
        if batches != "1" or plot:
            raise click.UsageError("--profile runs at batch 1 and draws nothing: drop --batch and --plot")
        _profile(directory, profile_target, threads, rounds, top)
        return
    try:
        sizes = tuple(int(b) for b in batches.split(","))
        if any(b < 1 for b in sizes):
            raise ValueError
    except ValueError:
        raise click.UsageError(f"--batch {batches!r}: comma-separated positive integers, e.g. 1,8") from None

    def on_row(row: BenchRow) -> None:
        click.echo(f"[bench] {row.runtime:<28} batch {row.batch}: median {row.median_ms:.2f} ms", err=True)

    try:
        result = run_bench(BenchOptions(directory=directory, threads=threads, batches=sizes, rounds=rounds,
                                        plot=plot), on_row)
    except Torch2TFError as exc:
        fail(exc)
    click.echo("\n".join(bench_table(result) + [f"- {n}" for n in result.notes]))


def _profile(directory: Path, target: str, threads: int, rounds: int, top: int) -> None:
    try:
        result = run_profile(directory, target=target, threads=threads, rounds=rounds,
                             on_progress=lambda line: click.echo(f"[profile] {line}", err=True))
    except Torch2TFError as exc:
        fail(exc)
    click.echo("\n".join(profile_table(result, top)))
