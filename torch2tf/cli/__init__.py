"""The command line: parses options, calls the library, prints, and picks exit codes.

Exit codes: 0 success · 1 the model could not be converted · 2 usage error · 3 parity failed.
"""
from __future__ import annotations

import click

from torch2tf import __version__
from torch2tf.cli.convert import check, convert
from torch2tf.cli.serve import package, serve, smoke
from torch2tf.cli.validate import bench, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="torch2tf")
def main() -> None:
    """torch2tf: take a PyTorch model to TensorFlow production, with proof it still computes the same.

    \b
    Quick start:
      torch2tf convert examples/resnet.py:build --input image:Nx3x224x224 -o out/
      cat out/report.md

    Exit codes: 0 ok, 1 model could not be converted, 2 usage error, 3 parity failed.
    """


for command in (convert, check, validate, package, serve, smoke, bench):
    main.add_command(command)
