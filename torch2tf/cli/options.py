"""Options shared by several commands, declared once; groups of them arrive as one typed value."""
from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

import click

from torch2tf.cache import CACHE_ENV, MAX_GB_ENV, NO_CACHE_ENV, default_cache_dir, max_gigabytes
from torch2tf.errors import InputSpecError
from torch2tf.pipeline.options import QuantizeOptions
from torch2tf.specs import parse_input_spec

COMMAND_SETTINGS = {"max_content_width": 100}


class InputSpecParam(click.ParamType):
    name = "NAME:SHAPE[:DTYPE]"

    def convert(self, value, param, ctx):
        try:
            return parse_input_spec(value)
        except InputSpecError as exc:
            self.fail(exc.message, param, ctx)


def _apply(decorators):
    def wrap(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn
    return wrap


class ArgParam(click.ParamType):
    """NAME=VALUE with VALUE a Python literal (True, 3, 0.5, 'text', (1, 2), None)."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name.strip().isidentifier():
            self.fail(f"{value!r}: expected NAME=VALUE, e.g. return_features=True", param, ctx)
        try:
            return name.strip(), ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            self.fail(f"{value!r}: {text.strip()!r} is not a Python literal (True, 3, 0.5, 'text', None)", param, ctx)


def input_options(example: str):
    """--input (repeatable), --input-data and --arg (repeatable)."""
    return _apply([
        click.option("--arg", "arguments", type=ArgParam(), multiple=True,
                     help="Set a forward() parameter that is not a tensor, for the export and every run: "
                          "NAME=VALUE with a Python literal, repeatable. Parameters left at their defaults are "
                          "listed in the report. Example: --arg return_features=True"),
        click.option("-i", "--input", "inputs", type=InputSpecParam(), multiple=True,
                     help="A model input as NAME:SHAPE[:DTYPE], repeatable; bound to forward()'s parameter of "
                          "that name (else by position). A leading N makes the batch axis dynamic; {NAME} or "
                          "{NAME=LOW..HIGH} makes another axis dynamic, inputs naming the same dim share its size "
                          "(parity is checked at both bounds). DTYPE: float32 (default), float16, int64, int32, "
                          f"bool. Example: {example}, input_ids:Nx{{seq=1..512}}:int64"),
        click.option("--input-data", type=click.Path(dir_okay=False, path_type=Path),
                     help="An .npz whose arrays (named like the inputs) describe the inputs when --input is "
                          "absent and are also used as validation inputs. Example: --input-data batch.npz"),
    ])


opset_option = click.option(
    "--opset", type=click.IntRange(13, 23), default=18, show_default=True,
    help="ONNX opset for the export (the dynamo exporter writes 18 at least; the TorchScript fallback uses 17). "
         "The opset really written is in the report.")
builtins_only_option = click.option(
    "--tflite-builtins-only", is_flag=True,
    help="Fail (exit 1) when TFLite would need Flex (SELECT_TF_OPS) or custom ops, as mobile apps usually "
         "cannot ship them.")
tolerance_option = click.option(
    "--tolerance", "tolerances", multiple=True, metavar="PRESET_OR_OUTPUT:KEY=VALUE",
    help="Override a tolerance preset or one output's conversion tolerance; keys: atol, rtol, min_cosine, min_top1. "
         "An output passes when max|error| <= atol + rtol*max|reference|. fp32 (atol 1e-5, rtol 2e-4, cosine "
         "0.9999) judges every float artifact's conversion error, the fp16 file's against the fp32 file with "
         "half-precision weights; fp16 bounds the fp16 file's precision loss against onnxruntime (no bound "
         "by default: reported only); int8 bounds quantized files (gating with --strict-quant). "
         "Example: --tolerance fp16:rtol=0.05 --tolerance logits:rtol=1e-3")
strict_option = click.option(
    "--strict", is_flag=True,
    help="Fail (exit 3) when an output's reference does not vary across the validation samples (constant, all "
         "zero, equal rows): parity there proves nothing. Without it such outputs are reported as uninformative.")
no_localize_option = click.option(
    "--no-localize", is_flag=True,
    help="On a parity failure, skip the search for the first differing ONNX node (it costs a few partial "
         "conversions).")
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Seed of the validation inputs.")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress lines; errors only.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")


def ci_file_options(fn):
    """--junit and --markdown: the report in the forms CI systems read."""
    return _apply([
        click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
                     help="Also write the parity results as JUnit XML (one testcase per target × output)."),
        click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
                     help="Also append the Markdown report there (e.g. $GITHUB_STEP_SUMMARY)."),
    ])(fn)


def cache_options(fn):
    """--cache-dir and --no-cache, handed to the command as one ``cache_dir: Path | None`` (None: no cache)."""
    @functools.wraps(fn)
    def wrapper(*args, cache_dir, no_cache, **kwargs):
        disabled = no_cache or os.environ.get(NO_CACHE_ENV, "") not in ("", "0")
        if not disabled:
            try:
                max_gigabytes(os.environ.get(MAX_GB_ENV))
            except ValueError:
                raise click.UsageError(f"{MAX_GB_ENV}={os.environ[MAX_GB_ENV]!r}: give the cache's size limit "
                                       "in gigabytes, a number such as 10 or 0.5") from None
        return fn(*args, cache_dir=None if disabled else (cache_dir or default_cache_dir()), **kwargs)

    return _apply([
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help=f"Reuse earlier exports, onnxsim passes and onnx2tf runs kept here (content-addressed; "
                          f"safe to move or delete; kept under ${MAX_GB_ENV} gigabytes, default 10, by removing what "
                          f"was used longest ago). Default: ${CACHE_ENV}, else ~/.cache/torch2tf."),
        click.option("--no-cache", is_flag=True,
                     help=f"Export and convert from scratch and keep nothing (also: {NO_CACHE_ENV}=1). Parity is "
                          "checked again on every run either way."),
    ])(wrapper)


def quantize_options(fn):
    """--quantize and its companions, handed to the command as one ``quantize: QuantizeOptions | None``."""
    @functools.wraps(fn)
    def wrapper(*args, quantize, calibration, int8_io, mean, std, strict_quant, **kwargs):
        return fn(*args, quantize=_quantize_options(quantize, calibration, int8_io, mean, std, strict_quant), **kwargs)

    return _apply([
        click.option("--quantize", type=click.Choice(["dynamic", "int8"]), multiple=True,
                     help="Also write a quantized TFLite: dynamic (int8 weights, float activations) and/or int8 "
                          "(full integer, needs --calibration). Repeatable."),
        click.option("--calibration", metavar="DATA.npz|IMAGE_DIR|random",
                     help="Representative data for --quantize int8: an .npz named like the inputs, a folder of "
                          "images (resized, scaled to [0,1], normalized with --mean/--std), or 'random' (warned "
                          "in the report)."),
        click.option("--int8-io", is_flag=True, help="With --quantize int8: int8 inputs and outputs too (else float I/O)."),
        click.option("--mean", default="0.485,0.456,0.406", show_default=True,
                     help="Per-channel mean for image-folder calibration."),
        click.option("--std", default="0.229,0.224,0.225", show_default=True,
                     help="Per-channel std for image-folder calibration."),
        click.option("--strict-quant", is_flag=True,
                      help="A quantized variant below the int8 preset fails the run (exit 3); by default it is "
                           "reported."),
    ])(wrapper)


def _quantize_options(mode, calibration, int8_io, mean, std, strict) -> QuantizeOptions | None:
    if not mode:
        if calibration or int8_io or strict:
            raise click.UsageError("--calibration, --int8-io and --strict-quant go with --quantize")
        return None
    if "int8" in mode and not calibration:
        raise click.UsageError("--quantize int8 needs --calibration DATA.npz, IMAGE_DIR or 'random'")
    try:
        means = tuple(float(v) for v in mean.split(","))
        stds = tuple(float(v) for v in std.split(","))
    except ValueError:
        raise click.UsageError("--mean and --std are comma-separated numbers, e.g. 0.5,0.5,0.5") from None
    return QuantizeOptions(modes=list(dict.fromkeys(mode)), calibration=calibration, int8_io=int8_io, mean=means,
                           std=stds, strict=strict)
