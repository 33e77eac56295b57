"""``torch2tf convert-many``: every model of a manifest, each in its own process, locally or on Ray."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from torch2tf.cli.convert import convert
from torch2tf.cli.options import COMMAND_SETTINGS, quiet_option
from torch2tf.cli.output import EXIT_FAILED, EXIT_OK, fail, interruptible
from torch2tf.errors import Torch2TFError
from torch2tf.fanout.engines import LOCAL, RayOptions
from torch2tf.fanout.manifest import OptionSpec, read_manifest
from torch2tf.fanout.run import ManyOptions, plan, run_many


def convert_option_table() -> dict[str, OptionSpec]:
    """``convert``'s options by long name (``--no-op-check`` → ``no_op_check``), as a manifest sets them."""
    table = {}
    for param in convert.params:
        if isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            table[flag.removeprefix("--").replace("-", "_")] = OptionSpec(flag=flag, is_flag=param.is_flag,
                                                                          multiple=param.multiple)
    return table


@click.command("convert-many", context_settings=COMMAND_SETTINGS)
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("out-many"),
              show_default=True, help="OUTDIR: one convert output per model (OUTDIR/NAME), logs/, summary.md, "
                                      "summary.json and junit.xml.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=max(1, (os.cpu_count() or 2) // 2),
              show_default="half the CPUs", help="Conversions in flight at once (each is a process of its own).")
@click.option("--ray", "ray_address", is_flag=False, flag_value=LOCAL, default=None, metavar="[ADDRESS]",
              help="Run the conversions as Ray tasks: alone, on a Ray instance started for this run; with an "
                   "ADDRESS ('auto', 'ray://head:10001'), on that cluster. Needs torch2tf[ray].")
@click.option("--cpus-per-model", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="With --ray: CPUs each task reserves.")
@click.option("--memory-gb-per-model", type=click.FloatRange(min=0.1),
              help="With --ray: memory each task reserves (Ray's scheduler places tasks by it).")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="With --ray: re-runs of a task whose worker died (a failed conversion is a verdict, not retried).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds one model may take; then it is stopped and counted as failed.")
@click.option("--force", is_flag=True, help="Replace models already converted into OUTDIR.")
@quiet_option
@interruptible
def convert_many(manifest, output, jobs, ray_address, cpus_per_model, memory_gb_per_model, retries, timeout_s, force,
                 quiet):
    """Convert every model listed in MANIFEST (TOML or YAML), each as `torch2tf convert` would.

    \b
    A failing model never stops the others. Verdicts: passed (every artifact matches), limitation
    (the toolchain cannot export or convert it: a named limit), failed (parity failed, the model's
    code failed, a bad option, a crash or a timeout). Exit 0 only if every model passed, else 1;
    2 for a bad manifest.

    \b
    MANIFEST (TOML; YAML has the same keys):
      [defaults]                       # any convert option, for every model
      tolerance = ["fp16:atol=0.05"]
      [[models]]
      name = "resnet"                  # OUTDIR/resnet (default: from MODEL)
      model = "examples/resnet.py:build"
      input = ["image:Nx3x224x224"]    # convert's long option names; flags take true

    \b
    Examples:
      torch2tf convert-many models.toml -o zoo/ --jobs 2
      torch2tf convert-many models.toml -o zoo/ --ray                    # a local Ray instance
      torch2tf convert-many models.toml -o /shared/zoo --ray auto        # the Ray cluster of this node
    """
    if ray_address and ray_address.endswith((".toml", ".yaml", ".yml")):
        raise click.UsageError(f"--ray took {ray_address!r} as the cluster address: put --ray after MANIFEST, "
                               "or give the address (--ray auto)")
    ray = (RayOptions(address=ray_address, cpus_per_task=cpus_per_model, memory_gb_per_task=memory_gb_per_model,
                      retries=retries) if ray_address else None)
    options = ManyOptions(manifest=manifest, output=output, jobs=jobs, force=force, timeout_s=timeout_s, ray=ray)
    try:
        table = convert_option_table()
        tasks = plan(read_manifest(manifest, table), options, table)
        outcome = run_many(tasks, options, on_line=(lambda line: None) if quiet else
                           (lambda line: click.echo(line, err=True)))
    except Torch2TFError as exc:
        fail(exc)
    counts = outcome.summary.counts
    if not quiet:
        click.echo(f"{counts.passed} passed, {counts.limitation} limitation(s), {counts.failed} failed; "
                   f"summary: {outcome.output / 'summary.md'}", err=True)
    sys.exit(EXIT_OK if outcome.passed else EXIT_FAILED)
