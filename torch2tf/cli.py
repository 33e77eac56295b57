"""The command line. Parses options, calls the library, prints, and picks exit codes.

Exit codes: 0 success · 1 the model could not be converted · 2 usage error · 3 parity failed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from torch2tf import __version__
from torch2tf.errors import Torch2TFError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARITY = 0, 1, 2, 3


class InputSpecParam(click.ParamType):
    name = "NAME:SHAPE[:DTYPE]"

    def convert(self, value, param, ctx):
        from torch2tf.errors import InputSpecError
        from torch2tf.model_spec import parse_input_spec

        try:
            return parse_input_spec(value)
        except InputSpecError as exc:
            self.fail(exc.message, param, ctx)


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


@main.command(context_settings={"max_content_width": 100})
@click.argument("model")
@click.option("-i", "--input", "inputs", type=InputSpecParam(), multiple=True,
              help="A model input as NAME:SHAPE[:DTYPE], repeatable, in forward() order. A leading N or "
                   "'batch' makes the batch axis dynamic. DTYPE: float32 (default), float16, int64, int32, "
                   "bool. Example: --input image:Nx3x224x224 --input mask:Nx224x224:bool")
@click.option("--input-data", type=click.Path(dir_okay=False, path_type=Path),
              help="An .npz whose arrays (named like the inputs) describe the inputs when --input is "
                   "absent and are also used as validation inputs. Example: --input-data batch.npz")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Output directory; written atomically.")
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@click.option("--opset", type=click.IntRange(13, 23), default=18, show_default=True,
              help="ONNX opset for the export (the TorchScript fallback retries with 17).")
@click.option("--layout", type=click.Choice(["nchw", "nhwc"]), default="nchw", show_default=True,
              help="Layout of the SavedModel signature: nchw keeps PyTorch's layout; nhwc takes and "
                   "returns channel-last tensors (what onnx2tf produces natively).")
@click.option("--output-names", help="Comma-separated output names (default: dict keys / namedtuple "
                                     "fields of forward()'s result, else output or output_0, output_1, ...).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the validation inputs.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep intermediate files here (every conversion attempt with its onnx2tf.log) "
                   "instead of deleting them; for debugging a failed conversion.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; errors only.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout.")
def convert(model, inputs, input_data, output, force, opset, layout, output_names, seed, work_dir, quiet,
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
    names, layout and a dynamic batch), tflite/model_float32.tflite, tflite/model_float16.tflite,
    report.json, report.md and manifest.json.
    """
    from torch2tf.pipeline import ConvertOptions, ConvertPipeline

    options = ConvertOptions(model=model, output=output, inputs=list(inputs), input_data=input_data,
                             force=force, opset=opset, layout=layout, seed=seed, work_dir=work_dir,
                             output_names=[n.strip() for n in output_names.split(",")] if output_names else None)
    pipeline = ConvertPipeline(options, on_event=None if quiet else _print_event)
    try:
        outcome = pipeline.run()
    except Torch2TFError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing was written", err=True)
        sys.exit(130)
    report = outcome.report.to_json()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if not quiet:
        verdict = "parity holds" if outcome.passed else "PARITY FAILED"
        click.echo(f"{verdict}; report: {outcome.output / 'report.md'}", err=True)
    sys.exit(EXIT_OK if outcome.passed else EXIT_PARITY)


def _print_event(event) -> None:
    if event.status == "start":
        click.echo(f"[{event.stage}] ...", err=True)
    elif event.status == "info":
        click.echo(f"[{event.stage}]   {event.detail}", err=True)
    else:
        mark = "ok" if event.status == "ok" else "FAILED"
        detail = f" — {event.detail}" if event.detail else ""
        click.echo(f"[{event.stage}] {mark} in {event.seconds:.1f}s{detail}", err=True)


def _fail(exc: Torch2TFError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)
