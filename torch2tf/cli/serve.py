"""``torch2tf package``, ``torch2tf serve`` and ``torch2tf smoke``: TF Serving, locally and over the wire."""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from torch2tf.cli.options import COMMAND_SETTINGS
from torch2tf.cli.output import EXIT_OK, EXIT_PARITY, EXIT_USAGE, fail, interruptible
from torch2tf.errors import Torch2TFError
from torch2tf.records import dumps
from torch2tf.serve.configs import BatchingOptions
from torch2tf.serve.image import DEFAULT_SERVING_IMAGE
from torch2tf.serve.repository import PackageOptions
from torch2tf.serve.repository import package as publish
from torch2tf.serve.server import LocalServer, ServerOptions
from torch2tf.serve.smoke import SmokeOptions, run_smoke


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Model name in the repository (letters, digits, '_', '-', '.').")
@click.option("--repo", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The TF Serving model repository (created if missing); several models and versions live there.")
@click.option("--version", type=click.IntRange(1, 2 ** 63 - 1), help="Version number (default: the next free one).")
@click.option("--force", is_flag=True, help="Replace an existing version.")
@click.option("--batching", is_flag=True, help="Write batching_parameters.txt and enable server-side batching.")
@click.option("--max-batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="With --batching: the largest batch TF Serving forms.")
@click.option("--batch-timeout-micros", type=click.IntRange(min=0), default=1000, show_default=True,
              help="With --batching: how long to wait to fill a batch.")
@click.option("--monitoring", is_flag=True, help="Write monitoring.config (Prometheus metrics endpoint).")
@click.option("--policy", type=click.Choice(["all", "latest", "specific"]), default="all", show_default=True,
              help="Version policy in models.config: serve all versions, the latest, or exactly those present.")
@click.option("--serving-image", metavar="IMAGE",
              help=f"Base image of REPO/Dockerfile (default: what REPO already uses, else {DEFAULT_SERVING_IMAGE}, "
                   "the newest TF Serving release confirmed; amd64 only). The SavedModel is checked against the "
                   "operators of that release before it is published.")
@click.option("--new-version", is_flag=True,
              help="Publish a new version even when the latest one holds the same SavedModel (else nothing is published).")
@click.option("--kubernetes", is_flag=True,
              help="Also write REPO/k8s/: Deployment, Service, HPA, PodDisruptionBudget (kubectl apply -k) and a "
                   "KServe InferenceService per model (k8s/kserve/); kept up to date by later packages.")
@interruptible
def package(directory, name, repo, version, force, batching, max_batch_size, batch_timeout_micros, monitoring,
            policy, serving_image, new_version, kubernetes):
    """Publish DIRECTORY's SavedModel into a TF Serving model repository, atomically.

    \b
    Writes REPO/NAME/VERSION/{saved_model.pb, variables/, assets.extra/tf_serving_warmup_requests}
    and regenerates REPO/models.config, Dockerfile, docker-compose.yml, README.md (and k8s/).

    \b
    Examples:
      torch2tf package out/ --name resnet --repo models/
      torch2tf package out/ --name resnet --repo models/ --version 7 --batching --monitoring
      torch2tf package out/ --name resnet --repo models/ --kubernetes && kubectl apply -k models/k8s
      docker build -t resnet-serving models/ && docker run -p 8501:8501 -p 8500:8500 resnet-serving
    """
    options = PackageOptions(source=directory, name=name, repo=repo, version=version, force=force,
                             batching=BatchingOptions(max_batch_size=max_batch_size,
                                                      batch_timeout_micros=batch_timeout_micros) if batching else None,
                             monitoring=monitoring, policy=policy, serving_image=serving_image,
                             kubernetes=kubernetes, new_version=new_version)
    try:
        packaged = publish(options)
    except Torch2TFError as exc:
        fail(exc)
    if packaged.published:
        click.echo(f"published {packaged.version_dir}", err=True)
    else:
        click.echo(f"unchanged: {packaged.version_dir} already holds this SavedModel, nothing published "
                   f"(--new-version publishes it again); repository files rewritten", err=True)


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--rest-port", type=click.IntRange(0, 65535), default=8501, show_default=True, help="0 picks a free port.")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=8500, show_default=True, help="0 picks a free port.")
@click.option("--max-request-mb", type=click.IntRange(min=1), default=64, show_default=True,
              help="Refuse request bodies larger than this.")
def serve(repo, host, rest_port, grpc_port, max_request_mb):
    """Serve a model repository locally with TF Serving's REST and gRPC APIs (no Docker needed).

    A development server for demos and tests; production uses the TF Serving image that
    `torch2tf package` writes (REPO/Dockerfile). On Ctrl-C or SIGTERM it stops accepting, lets the
    requests in flight finish (up to 30 s) and exits. A version that fails to load is reported
    (state END in the status endpoints) while the others are served.

    \b
    Example:
      torch2tf serve models/ &
      curl http://127.0.0.1:8501/v1/models/resnet
    """
    try:
        server = LocalServer(ServerOptions(repo=repo, host=host, rest_port=rest_port, grpc_port=grpc_port,
                                           max_request_bytes=max_request_mb * 1024 * 1024)).start()
    except Torch2TFError as exc:
        fail(exc)
    except OSError as exc:
        click.echo(f"error: cannot listen: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"serving {server.registry.serving_summary()}\n"
               f"REST http://{host}:{server.rest_port}  gRPC grpc://{host}:{server.grpc_port}", err=True)
    stop.wait()
    click.echo("stopping: finishing the requests in flight", err=True)
    server.stop()
    click.echo("stopped", err=True)


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("url")
@click.option("--model", required=True, help="Model name on the server.")
@click.option("--from", "directory", required=True, type=click.Path(path_type=Path),
              help="The convert output directory whose model is served (inputs and onnxruntime reference).")
@click.option("--version", type=click.IntRange(min=1), help="A specific version (default: the server's latest).")
@click.option("--requests", type=click.IntRange(min=1), default=20, show_default=True,
              help="Requests to send (alternating batch 1 and 3 when the batch is dynamic).")
@click.option("--update-report", is_flag=True, help="Add the result to DIR/report.json and report.md.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
              help="Wait up to SECONDS for the endpoint to serve the model (a server just started), saying so.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@interruptible
def smoke(url, model, directory, version, requests, update_report, wait_s, as_json):
    """Parity over the wire: send validation inputs to a TF Serving endpoint and compare with onnxruntime.

    \b
    Examples:
      torch2tf smoke http://127.0.0.1:8501 --model resnet --from out/      # REST
      torch2tf smoke grpc://127.0.0.1:8500 --model resnet --from out/      # gRPC
      torch2tf serve models/ & torch2tf smoke http://127.0.0.1:8501 --model resnet --from out/ --wait 60
    Exit 0 when every answer is within the fp32 tolerance, 3 otherwise, 1 if the endpoint fails.
    """
    try:
        entry = run_smoke(SmokeOptions(url=url, model=model, directory=directory, version=version,
                                       requests=requests, update_report=update_report, wait_s=wait_s),
                          inform=lambda line: click.echo(line, err=True))
    except Torch2TFError as exc:
        fail(exc)
    if as_json:
        click.echo(dumps(entry.to_json()), nl=False)
    latency = entry.latency_ms
    worst = max((o.max_abs for o in entry.outputs), default=float("nan"))
    click.echo(f"{'✓ parity holds' if entry.passed else '✗ PARITY FAILED'} over {entry.target[7:].upper()} "
               f"({len(entry.samples)} requests, max abs {worst:.3g}); latency p50 {latency.p50:.1f} ms, "
               f"p95 {latency.p95:.1f} ms", err=True)
    sys.exit(EXIT_OK if entry.passed else EXIT_PARITY)
