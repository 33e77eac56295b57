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
              help="ONNX opset for the export (the dynamo exporter writes 18 at least; the TorchScript "
                   "fallback uses 17). The opset really written is in the report.")
@click.option("--layout", type=click.Choice(["nchw", "nhwc"]), default="nchw", show_default=True,
              help="Layout of the SavedModel signature: nchw keeps PyTorch's layout; nhwc takes and "
                   "returns channel-last tensors (what onnx2tf produces natively).")
@click.option("--output-names", help="Comma-separated output names (default: dict keys / namedtuple "
                                     "fields of forward()'s result, else output or output_0, output_1, ...).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the validation inputs.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep intermediate files here (every conversion attempt with its onnx2tf.log) "
                   "instead of deleting them; for debugging a failed conversion.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="PRESET_OR_OUTPUT:KEY=VALUE",
              help="Override a tolerance preset (fp32, fp16, int8) or one output's tolerance; keys: atol, "
                   "rtol, min_cosine, min_top1. Example: --tolerance fp16:atol=2e-2 --tolerance logits:rtol=1e-3")
@click.option("--no-localize", is_flag=True, help="On a parity failure, skip the search for the first "
                                                  "differing ONNX node (it costs a few partial conversions).")
@click.option("--tflite-builtins-only", is_flag=True,
              help="Fail (exit 1) when TFLite would need Flex (SELECT_TF_OPS) or custom ops, as mobile apps "
                   "usually cannot ship them.")
@click.option("--quantize", type=click.Choice(["dynamic", "int8"]), multiple=True,
              help="Also write a quantized TFLite: dynamic (int8 weights, float activations) and/or int8 (full "
                   "integer, needs --calibration). Repeatable.")
@click.option("--calibration", metavar="DATA.npz|IMAGE_DIR|random",
              help="Representative data for --quantize int8: an .npz named like the inputs, a folder of images "
                   "(resized, scaled to [0,1], normalized with --mean/--std), or 'random' (warned in the report).")
@click.option("--int8-io", is_flag=True, help="With --quantize int8: int8 inputs and outputs too (else float I/O).")
@click.option("--mean", default="0.485,0.456,0.406", show_default=True,
              help="Per-channel mean for image-folder calibration.")
@click.option("--std", default="0.229,0.224,0.225", show_default=True,
              help="Per-channel std for image-folder calibration.")
@click.option("--strict-quant", is_flag=True,
              help="A quantized variant below the int8 preset fails the run (exit 3); by default it is reported.")
@click.option("--strategy", help="Try only this conversion strategy (a rung of the ladder, as named in report.md, "
                                 "e.g. static-batch) instead of walking the ladder.")
@click.option("--no-op-check", is_flag=True,
              help="Convert even when the support table says an operator will not convert.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the parity results as JUnit XML (one testcase per target × output).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write report.md there (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; errors only.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout.")
def convert(model, inputs, input_data, output, force, opset, layout, output_names, seed, work_dir, tolerances,
            no_localize, tflite_builtins_only, quantize, calibration, int8_io, mean, std, strict_quant, strategy,
            no_op_check, junit, markdown, quiet, as_json):
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
                             tolerances=list(tolerances), localize=not no_localize,
                             tflite_builtins_only=tflite_builtins_only, op_check=not no_op_check, strategy=strategy,
                             quantize=_quantize_options(quantize, calibration, int8_io, mean, std, strict_quant),
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
    _write_ci_files(report, junit, markdown)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if not quiet:
        verdict = "parity holds" if outcome.passed else "PARITY FAILED"
        click.echo(f"{verdict}; report: {outcome.output / 'report.md'}", err=True)
    sys.exit(EXIT_OK if outcome.passed else EXIT_PARITY)


@main.command(context_settings={"max_content_width": 100})
@click.argument("model")
@click.option("-i", "--input", "inputs", type=InputSpecParam(), multiple=True,
              help="A model input as NAME:SHAPE[:DTYPE] (as for convert). Example: --input pixels:Nx3x64x64")
@click.option("--input-data", type=click.Path(dir_okay=False, path_type=Path),
              help="An .npz whose arrays describe the inputs when --input is absent.")
@click.option("--opset", type=click.IntRange(13, 23), default=18, show_default=True, help="ONNX opset for the export.")
@click.option("--tflite-builtins-only", is_flag=True,
              help="Count Flex (SELECT_TF_OPS) and TF-only operators as blocking too.")
@click.option("--json", "as_json", is_flag=True, help="Print the inventory as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def check(model, inputs, input_data, opset, tflite_builtins_only, as_json, quiet):
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
    from torch2tf.pipeline import ConvertOptions, ConvertPipeline

    options = ConvertOptions(model=model, output=Path("."), inputs=list(inputs), input_data=input_data, opset=opset,
                             tflite_builtins_only=tflite_builtins_only)
    pipeline = ConvertPipeline(options, on_event=None if quiet or as_json else _print_event)
    try:
        compat = pipeline.run_check()
    except Torch2TFError as exc:
        _fail(exc)
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


@main.command(context_settings={"max_content_width": 100})
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--input-data", type=click.Path(dir_okay=False, path_type=Path),
              help="An .npz of real inputs (named like the model's inputs) validated on top of random samples.")
@click.option("--samples", type=int, default=2, show_default=True,
              help="Random samples, alternating batch 1 and batch 3 when the batch is dynamic.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="PRESET_OR_OUTPUT:KEY=VALUE",
              help="Override a preset (fp32, fp16, int8) or one output. Example: --tolerance fp32:atol=1e-5")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="A report.json of an earlier model version: fail when an error figure got worse.")
@click.option("--regression-factor", type=click.FloatRange(min=1.0), default=2.0, show_default=True,
              help="With --baseline: how many times larger an error may grow before it is a regression.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write JUnit XML (one testcase per target × output).")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the Markdown report there (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--no-localize", is_flag=True, help="Skip the search for the first differing ONNX node.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random samples.")
@click.option("-q", "--quiet", is_flag=True, help="No output but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the new report.json on stdout.")
def validate(directory, input_data, samples, tolerances, baseline, regression_factor, junit, markdown, no_localize,
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
    from torch2tf.validate.validate_dir import ValidateOptions, validate_directory

    options = ValidateOptions(directory=directory, input_data=input_data, samples=samples,
                              tolerances=list(tolerances), baseline=baseline, regression_factor=regression_factor,
                              localize=not no_localize, seed=seed)

    def on_stage(name: str, seconds: float, detail: str) -> None:
        if not quiet:
            click.echo(f"[{name}] done in {seconds:.1f}s — {detail}", err=True)

    try:
        report = validate_directory(options, on_stage).to_json()
    except Torch2TFError as exc:
        _fail(exc)
    _write_ci_files(report, junit, markdown)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if not quiet:
        from torch2tf.validate.report import parity_table, summary_line

        click.echo("\n".join([summary_line(report), "", *parity_table(report)]), err=True)
    sys.exit(EXIT_OK if report["passed"] else EXIT_PARITY)


@main.command(context_settings={"max_content_width": 100})
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Model name in the repository (letters, digits, '_', '-', '.').")
@click.option("--repo", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The TF Serving model repository (created if missing); several models and versions live there.")
@click.option("--version", type=click.IntRange(min=1), help="Version number (default: the next free one).")
@click.option("--force", is_flag=True, help="Replace an existing version.")
@click.option("--batching", is_flag=True, help="Write batching_parameters.txt and enable server-side batching.")
@click.option("--max-batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="With --batching: the largest batch TF Serving forms.")
@click.option("--batch-timeout-micros", type=click.IntRange(min=0), default=1000, show_default=True,
              help="With --batching: how long to wait to fill a batch.")
@click.option("--monitoring", is_flag=True, help="Write monitoring.config (Prometheus metrics endpoint).")
@click.option("--policy", type=click.Choice(["all", "latest", "specific"]), default="all", show_default=True,
              help="Version policy in models.config: serve all versions, the latest, or exactly those present.")
def package(directory, name, repo, version, force, batching, max_batch_size, batch_timeout_micros, monitoring,
            policy):
    """Publish DIRECTORY's SavedModel into a TF Serving model repository, atomically.

    \b
    Writes REPO/NAME/VERSION/{saved_model.pb, variables/, assets.extra/tf_serving_warmup_requests}
    and regenerates REPO/models.config, Dockerfile, docker-compose.yml and README.md.

    \b
    Examples:
      torch2tf package out/ --name resnet --repo models/
      torch2tf package out/ --name resnet --repo models/ --version 7 --batching --monitoring
      docker build -t resnet-serving models/ && docker run -p 8501:8501 -p 8500:8500 resnet-serving
    """
    from torch2tf.serve.configs import BatchingOptions
    from torch2tf.serve.repository import PackageOptions, package as publish

    options = PackageOptions(source=directory, name=name, repo=repo, version=version, force=force,
                             batching=BatchingOptions(max_batch_size=max_batch_size,
                                                      batch_timeout_micros=batch_timeout_micros) if batching else None,
                             monitoring=monitoring, policy=policy)
    try:
        target = publish(options)
    except Torch2TFError as exc:
        _fail(exc)
    click.echo(f"published {target}", err=True)


@main.command(context_settings={"max_content_width": 100})
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--rest-port", type=click.IntRange(0, 65535), default=8501, show_default=True, help="0 picks a free port.")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=8500, show_default=True, help="0 picks a free port.")
@click.option("--max-request-mb", type=click.IntRange(min=1), default=64, show_default=True,
              help="Refuse request bodies larger than this.")
def serve(repo, host, rest_port, grpc_port, max_request_mb):
    """Serve a model repository locally with TF Serving's REST and gRPC APIs (no Docker needed).

    A development server for demos and tests; production uses the TF Serving image that
    `torch2tf package` writes (REPO/Dockerfile). Stops cleanly on Ctrl-C or SIGTERM.

    \b
    Example:
      torch2tf serve models/ &
      curl http://127.0.0.1:8501/v1/models/resnet
    """
    import signal
    import threading

    from torch2tf.serve.server import LocalServer, ServerOptions

    try:
        server = LocalServer(ServerOptions(repo=repo, host=host, rest_port=rest_port, grpc_port=grpc_port,
                                           max_request_bytes=max_request_mb * 1024 * 1024)).start()
    except Torch2TFError as exc:
        _fail(exc)
    except OSError as exc:
        click.echo(f"error: cannot listen: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    models = ", ".join(f"{n} (versions {', '.join(map(str, sorted(v)))})" for n, v in server.registry.versions.items())
    click.echo(f"serving {models}\nREST http://{host}:{server.rest_port}  gRPC grpc://{host}:{server.grpc_port}",
               err=True)
    stop.wait()
    server.stop()
    click.echo("stopped", err=True)


@main.command(context_settings={"max_content_width": 100})
@click.argument("url")
@click.option("--model", required=True, help="Model name on the server.")
@click.option("--from", "directory", required=True, type=click.Path(path_type=Path),
              help="The convert output directory whose model is served (inputs and onnxruntime reference).")
@click.option("--version", type=click.IntRange(min=1), help="A specific version (default: the server's latest).")
@click.option("--requests", type=click.IntRange(min=1), default=20, show_default=True,
              help="Requests to send (alternating batch 1 and 3 when the batch is dynamic).")
@click.option("--update-report", is_flag=True, help="Add the result to DIR/report.json and report.md.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def smoke(url, model, directory, version, requests, update_report, as_json):
    """Parity over the wire: send validation inputs to a TF Serving endpoint and compare with onnxruntime.

    \b
    Examples:
      torch2tf smoke http://127.0.0.1:8501 --model resnet --from out/      # REST
      torch2tf smoke grpc://127.0.0.1:8500 --model resnet --from out/      # gRPC
    Exit 0 when every answer is within the fp32 tolerance, 3 otherwise, 1 if the endpoint fails.
    """
    from torch2tf.serve.smoke import SmokeOptions, run_smoke

    try:
        entry = run_smoke(SmokeOptions(url=url, model=model, directory=directory, version=version,
                                       requests=requests, update_report=update_report))
    except Torch2TFError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(entry, indent=2))
    latency = entry["latency_ms"]
    worst = max((o["max_abs"] for o in entry["outputs"]), default=float("nan"))
    click.echo(f"{'✓ parity holds' if entry['passed'] else '✗ PARITY FAILED'} over {entry['target'][7:].upper()} "
               f"({len(entry['samples'])} requests, max abs {worst:.3g}); latency p50 {latency['p50']:.1f} ms, "
               f"p95 {latency['p95']:.1f} ms", err=True)
    sys.exit(EXIT_OK if entry["passed"] else EXIT_PARITY)


@main.command(context_settings={"max_content_width": 100})
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads for every runtime (torch, onnxruntime, TensorFlow, TFLite).")
@click.option("--batch", "batches", default="1", show_default=True, help="Comma-separated batch sizes, e.g. 1,8.")
@click.option("--rounds", type=click.IntRange(min=3), default=20, show_default=True,
              help="Timed runs per runtime (interleaved), after 3 warm-up runs.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Also draw a PNG bar chart (matplotlib).")
def bench(directory, threads, batches, rounds, plot):
    """Latency, throughput and size of every artifact in DIRECTORY, side by side.

    Torch eager (when MODEL still loads from here), onnxruntime, the SavedModel and every TFLite
    variant run the same inputs with the same thread count. The table (ratios against
    onnxruntime) is printed and written into report.json/report.md.

    \b
    Examples:
      torch2tf bench out/ --threads 2 --batch 1,8
      torch2tf bench out/ --plot bench.png
    """
    from torch2tf.validate.bench import BenchOptions, bench_table, run_bench

    try:
        sizes = tuple(int(b) for b in batches.split(","))
        if any(b < 1 for b in sizes):
            raise ValueError
    except ValueError:
        raise click.UsageError(f"--batch {batches!r}: comma-separated positive integers, e.g. 1,8") from None

    def on_row(row: dict) -> None:
        click.echo(f"[bench] {row['runtime']:<28} batch {row['batch']}: median {row['median_ms']:.2f} ms", err=True)

    try:
        result = run_bench(BenchOptions(directory=directory, threads=threads, batches=sizes, rounds=rounds,
                                        plot=plot), on_row)
    except Torch2TFError as exc:
        _fail(exc)
    click.echo("\n".join(bench_table(result) + [f"- {n}" for n in result["notes"]]))


def _quantize_options(mode, calibration, int8_io, mean, std, strict):
    from torch2tf.convert.quantize import QuantizeOptions

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
    return QuantizeOptions(modes=list(dict.fromkeys(mode)), calibration=calibration, int8_io=int8_io, mean=means, std=stds, strict=strict)


def _write_ci_files(report: dict, junit: Path | None, markdown: Path | None) -> None:
    from torch2tf.validate.junit import write_junit
    from torch2tf.validate.report import render_markdown

    if junit:
        write_junit(report, junit)
    if markdown:
        with open(markdown, "a") as fh:  # append: $GITHUB_STEP_SUMMARY collects several steps
            fh.write(render_markdown(report))


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
