"""The command line: parses options, calls the library, prints, and picks exit codes.

Exit codes: 0 success · 1 the model could not be converted · 2 usage error · 3 parity failed.
"""
from __future__ import annotations

import sys
import threading

import click

from torch2tf import __version__
from torch2tf.cli.convert import check, convert
from torch2tf.cli.many import convert_many
from torch2tf.cli.output import sigterm_as_interrupt
from torch2tf.cli.report import report
from torch2tf.cli.serve import package, serve, smoke
from torch2tf.cli.validate import bench, validate
from torch2tf.native_logs import exit_past_teardown
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


# Native libraries whose teardown at interpreter exit takes seconds (~1.5 s for torch with TensorFlow).
_SLOW_TEARDOWN = ("torch", "tensorflow", "onnxruntime")


def entry() -> None:
    """The ``torch2tf`` program: the command line, then an exit that skips the native teardown.

    Every command has finished its work (files committed, work directories removed, servers
    stopped) by the time ``main`` returns; what remains at interpreter exit is Python's exit
    handlers (run) and the native teardown of torch and TensorFlow (~1.5 s: skipped, see
    native_logs.exit_past_teardown). Only when nothing else still runs.
    """
    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
    if _quick_exit_safe():
        _quick_exit(code)
    sys.exit(code)


def _quick_exit_safe() -> bool:
    if not any(name in sys.modules for name in _SLOW_TEARDOWN):
        return False
    if "multiprocessing" in sys.modules and sys.modules["multiprocessing"].active_children():
        return False
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return False
    return all(t.daemon or t is threading.main_thread() for t in threading.enumerate())


def _quick_exit(code) -> None:
    if code is not None and not isinstance(code, int):  # sys.exit("message"): print it as Python would
        print(code, file=sys.stderr)
        code = 1
    exit_past_teardown(code or 0)
