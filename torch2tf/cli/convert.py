"""``torch2tf convert`` and ``torch2tf check``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from torch2tf.cli.options import (
    COMMAND_SETTINGS,
    builtins_only_option,
    cache_options,
    ci_file_options,
    input_options,
    json_option,
    no_localize_option,
    opset_option,
    quantize_options,
    quiet_option,
    seed_option,
    strict_option,
    tolerance_option,
)
from torch2tf.cli.output import EXIT_FAILED, EXIT_OK, EXIT_PARITY, check_writable, fail, interruptible, write_ci_files
from torch2tf.cli.progress import progress_lines
from torch2tf.errors import Torch2TFError
from torch2tf.pipeline.convert import run_check, run_convert
from torch2tf.pipeline.options import DEFAULT_BUDGET_S, ConvertOptions
from torch2tf.records import dumps
from torch2tf.specs import Layouts


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("model")
@input_options("--input image:Nx3x224x224 --input mask:Nx224x224:bool")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Output directory; written atomically.")
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@opset_option
@click.option("--layout", type=click.Choice(["nchw", "nhwc"]), default="nchw", show_default=True,
              help="Layout of the SavedModel signature: nchw keeps PyTorch's layout; nhwc takes and "
                   "returns channel-last tensors (what onnx2tf produces natively).")
@click.option("--tflite-layout", type=click.Choice(["nhwc", "nchw"]), default="nhwc", show_default=True,
              help="Layout of image tensors in the .tflite files' serving_default signature: nhwc is "
                   "mobile-native (channel-last, no extra ops); nchw keeps PyTorch's layout (one TRANSPOSE "
                   "per image input/output inside the file).")
@click.option("--output-names", help="Comma-separated output names (default: dict keys / namedtuple "
                                     "fields of forward()'s result, else output or output_0, output_1, ...).")
@seed_option
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep intermediate files here (every conversion attempt with its onnx2tf.log) "
                   "instead of deleting them; for debugging a failed conversion.")
@tolerance_option
@strict_option
@no_localize_option
@builtins_only_option
@quantize_options
@cache_options
@click.option("--strategy", help="Try only this conversion strategy (as named in report.md, "
                                 "e.g. static-batch) instead of walking the ladder.")
@click.option("--tune", is_flag=True,
              help="Convert with every strategy that applies (one onnx2tf run each) and keep, among those that "
                   "hold parity, the one whose TFLite fp32 file runs fastest (batch 1, timed side by side; the "
                   "report lists each); a later, less native strategy only when it is over 5% faster. It may "
                   "pick a static-batch strategy: TFLite files then take batch 1.")
@click.option("--no-op-check", is_flag=True,
              help="Convert even when the support table says an operator will not convert.")
@click.option("--budget", "budget_s", type=click.FloatRange(min=1), default=DEFAULT_BUDGET_S, show_default=True,
              metavar="SECONDS",
              help="Time for the conversion ladder: no strategy starts after it, an onnx2tf run still going at it "
                   "is stopped, and the closest attempt is reported.")
@ci_file_options
@quiet_option
@json_option
@interruptible
def convert(model, inputs, input_data, arguments, output, force, opset, layout, tflite_layout, output_names, seed, work_dir, tolerances,
            strict, no_localize, tflite_builtins_only, quantize, cache_dir, strategy, tune, no_op_check, budget_s, junit, markdown, quiet,
            as_json):
    """Convert MODEL to ONNX, a TF SavedModel and TFLite (fp32, fp16), and check parity.

    \b
    MODEL is one of:
      path/to/file.py:build        a function returning an nn.Module, or an nn.Module class
      package.module:make_net      the same, importable from the current directory or installed
      model.pt / model.pt2         a TorchScript file / a torch.export ExportedProgram
      model.onnx                   an existing ONNX model: the export is skipped

    \b
    Examples:
      torch2tf convert examples/resnet.py:build --input image:Nx3x224x224 -o out/
      torch2tf convert my_pkg.models:make_net --input tokens:Nx32:int64 -o out/
      torch2tf convert model.onnx -o out/

    \b
    OUTPUT gets model.onnx (+ model.onnx.data), saved_model/ (serving_default with the PyTorch
    names, layout and a dynamic batch), tflite/model_float32.tflite, tflite/model_float16.tflite
    (each with a serving_default signature under the PyTorch names), report.json, report.md and
    manifest.json.
    """
    check_writable(junit, markdown)
    options = ConvertOptions(model=model, output=output, inputs=list(inputs), input_data=input_data, force=force,
                             opset=opset, layouts=Layouts(layout, tflite_layout), seed=seed, args=dict(arguments), work_dir=work_dir,
                             tolerances=list(tolerances), strict=strict,
                             localize=not no_localize, tflite_builtins_only=tflite_builtins_only,
                             op_check=not no_op_check, strategy=strategy, tune=tune, quantize=quantize, budget_s=budget_s,
                             cache_dir=cache_dir,
                             output_names=[n.strip() for n in output_names.split(",")] if output_names else None)
    error = None
    with progress_lines(quiet) as on_event:
        try:
            outcome = run_convert(options, on_event=on_event)
        except Torch2TFError as exc:
            error = exc
    if error is not None:
        fail(error, as_json)
    write_ci_files(outcome.report, junit, markdown)
    if as_json:
        click.echo(dumps(outcome.report.to_json()), nl=False)
    if not quiet:
        verdict = "parity holds" if outcome.passed else "PARITY FAILED"
        click.echo(f"{verdict}; report: {outcome.output / 'report.md'}", err=True)
    sys.exit(EXIT_OK if outcome.passed else EXIT_PARITY)


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("model")
@input_options("--input pixels:Nx3x64x64")
@opset_option
@builtins_only_option
@json_option
@quiet_option
@cache_options
@interruptible
def check(model, inputs, input_data, arguments, opset, tflite_builtins_only, as_json, quiet, cache_dir):
    """Operator compatibility of MODEL, in seconds and before converting.

    Exports MODEL to ONNX (or reads the .onnx), lists every operator with its count, the status
    measured for it (builtin: TFLite builtin; flex: TFLite needs the Flex delegate; tf_only:
    SavedModel only; unsupported: onnx2tf cannot convert it) and where in the PyTorch code its
    nodes come from. Exit 0 when every operator converts, 1 otherwise (naming each blocking op
    and what to try), 2 on usage errors.

    \b
    Examples:
      torch2tf check examples/resnet.py:build --input image:Nx3x224x224
      torch2tf check model.onnx --json
      torch2tf check examples/bert.py:build -i input_ids:Nx32:int64 -i attention_mask:Nx32:int64 --tflite-builtins-only
    """
    options = ConvertOptions(model=model, output=Path("."), inputs=list(inputs), input_data=input_data, opset=opset,
                             tflite_builtins_only=tflite_builtins_only, args=dict(arguments), cache_dir=cache_dir)
    error = None
    with progress_lines(quiet or as_json) as on_event:
        try:
            compat = run_check(options, on_event=on_event)
        except Torch2TFError as exc:
            error = exc
    if error is not None:
        fail(error)
    if as_json:
        click.echo(json.dumps({"model": model, "ok": compat.ok, "builtins_only": tflite_builtins_only,
                               "operators": [op.to_json() for op in compat.ops],
                               "blocking": [op.op_type for op in compat.blocking]}, indent=2))
    else:
        click.echo(compat.table())
        if compat.blocking:
            click.echo("\nblocking:\n" + compat.blocking_summary(), err=True)
        else:
            click.echo(f"\nall {len(compat.ops)} operator types convert", err=True)
    sys.exit(EXIT_OK if compat.ok else EXIT_FAILED)
