"""The command line: parses options, calls the library, prints, and picks exit codes.

Exit codes: 0 success · 1 the model could not be converted · 2 usage error · 3 parity failed.
"""
from __future__ import annotations

import click

from torch2tf import __version__
from torch2tf.cli.convert import check, convert
from torch2tf.cli.many import convert_many
from torch2tf.cli.output import sigterm_as_interrupt
from torch2tf.cli.report import report
from torch2tf.cli.serve import package, serve, smoke
from torch2tf.cli.validate import bench, validate
from torch2tf.workspace import contained_caches


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="torch2tf")
@click.pass_context
def main(ctx: click.Context) -> None:
    """torch2tf: take a PyTorch model to TensorFlow production, with proof it still computes the same.

    \b
    Quick start:
      torch2tf convert examples/resnet.py:build --input image:Nx3x224x224 -o out/
      cat out/report.md

    Exit codes: 0 ok, 1 model could not be converted, 2 usage error, 3 parity failed.
    """
    ctx.with_resource(contained_caches())
    ctx.with_resource(sigterm_as_interrupt())


for command in (convert, convert_many, check, validate, package, serve, smoke, bench, report):
    main.add_command(command)
