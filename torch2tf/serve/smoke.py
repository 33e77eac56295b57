"""``torch2tf smoke``: parity over the wire against any TF Serving-compatible endpoint.

Sends the validation inputs of a convert output over REST (``http://host:8501``) or gRPC
(``grpc://host:8500``), compares the answers with onnxruntime on the exported ONNX using the same
comparator as ``validate``, and measures request latency.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from torch2tf.artifacts import manifest_vocab, measured_stamp, read_manifest
from torch2tf.errors import EndpointError, UsageError
from torch2tf.inputs import validation_samples
from torch2tf.native_logs import import_tensorflow
from torch2tf.records import Latency, ParityEntry, read_report
from torch2tf.specs import SIGNATURE_KEY
from torch2tf.validation.parity import check_target, run_samples
from torch2tf.validation.report import update_report
from torch2tf.validation.runners import OrtRunner, Runner

TIMEOUT_S = 30.0
POLL_S = 0.5  # between two readiness probes while --wait lasts
AVAILABLE = "AVAILABLE"  # TF Serving's ModelVersionStatus state of a version that serves


@dataclass
class SmokeOptions:
    url: str
    model: str
    directory: Path
    version: int | None = None
    requests: int = 20
    seed: int = 0
    update_report: bool = False
    wait_s: float = 0.0  # wait this long for the endpoint to serve the model before the first request


class RestRunner(Runner):
    name = "rest"

    def __init__(self, base: str, model: str, version: int | None, keys: dict[str, str]) -> None:
        """``keys``: each input's PyTorch name → its key in the served signature."""
        super().__init__()
        path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "")
        self.status_url = base.rstrip("/") + path
        self.url = self.status_url + ":predict"
        self.input_names, self.keys = list(keys), keys

    def ready(self) -> bool:
        """Does a version of the model serve (TF Serving answers its status with 200 in every state)?"""
        with urllib.request.urlopen(self.status_url, timeout=POLL_S * 4) as response:
            states = [v.get("state") for v in json.loads(response.read()).get("model_version_status", [])]
        return AVAILABLE in states

    def infer_impl(self, feeds):
        body = json.dumps({"inputs": {self.keys[k]: v.tolist() for k, v in feeds.items()}}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise EndpointError(f"{self.url} answered {exc.code}: {exc.read().decode(errors='replace')[:300]}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise EndpointError(f"cannot reach {self.url}: {getattr(exc, 'reason', exc)}") from exc
        self.timings.append(time.perf_counter() - start)  # the request alone: its latency
        outputs = answer["outputs"]
        if not isinstance(outputs, dict):
            outputs = {"__single__": outputs}
        return {k: np.asarray(v) for k, v in outputs.items()}


class GrpcRunner(Runner):
    name = "grpc"

    def __init__(self, target: str, model: str, version: int | None, keys: dict[str, str]) -> None:
        super().__init__()
        import_tensorflow()
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 1 << 28)])
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.target, self.model, self.version = target, model, version
        self.input_names, self.keys = list(keys), keys

    def close(self) -> None:
        self.channel.close()

    def ready(self) -> bool:
        from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = self.model
        if self.version:
            request.model_spec.version.value = self.version
        response = model_service_pb2_grpc.ModelServiceStub(self.channel).GetModelStatus(request, timeout=POLL_S * 4)
        available = get_model_status_pb2.ModelVersionStatus.State.Value(AVAILABLE)
        return any(v.state == available for v in response.model_version_status)

    def infer_impl(self, feeds):
        import grpc
        from tensorflow_serving.apis import predict_pb2

        tf = import_tensorflow()
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = SIGNATURE_KEY
        if self.version:
            request.model_spec.version.value = self.version
        for name, value in feeds.items():
            request.inputs[self.keys[name]].CopyFrom(tf.make_tensor_proto(value))
        start = time.perf_counter()
        try:
            response = self.stub.Predict(request, timeout=TIMEOUT_S)
        except grpc.RpcError as exc:
            raise EndpointError(f"grpc://{self.target} answered {exc.code().name}: {exc.details()}") from exc
        self.timings.append(time.perf_counter() - start)
        return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}


def run_smoke(options: SmokeOptions, inform: Callable[[str], None] = lambda line: None) -> ParityEntry:
    """Parity and latency of the endpoint; returns a report.json parity entry with a latency block.
    ``inform`` gets a line when the run waits for the endpoint (``options.wait_s``) and when it answers."""
    manifest = read_manifest(options.directory)
    specs = manifest.specs()
    output_names = manifest.output_names
    runner, target = _runner(options, manifest.input_keys())
    samples = validation_samples(specs, options.seed, manifest_vocab(options.directory, manifest),
                                 count=max(1, options.requests), prefix="request")
    with OrtRunner(options.directory / "model.onnx") as ort:
        expected = run_samples(ort, samples)
    if options.wait_s > 0:
        _wait_until_serving(runner, options, inform)
    if len(output_names) == 1:  # REST columnar answers for one output carry no name
        runner = _SingleOutputNames(runner, output_names[0])
    with runner:
        entry = check_target(target, runner, samples, expected, "fp32")
        latencies = runner.timings
    if entry.did_not_run:
        raise EndpointError(entry.errors[0])
    ms = np.array(latencies) * 1000.0
    latency = Latency(len(ms), float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.mean()))
    # validate keeps the row, stamped with the SavedModel it was measured on
    entry = replace(entry, endpoint=options.url, measured=measured_stamp(manifest, ("saved_model/",)),
                    latency_ms=latency)
    if options.update_report:
        _add_to_report(options.directory, entry)
    return entry


def _wait_until_serving(runner: RestRunner | GrpcRunner, options: SmokeOptions, inform: Callable[[str], None]) -> None:
    """Probe the model's status until a version is AVAILABLE, for at most ``options.wait_s`` seconds."""
    import grpc

    start = time.monotonic()
    inform(f"waiting up to {options.wait_s:.0f} s for {options.url} to serve {options.model!r}")
    while True:
        try:
            if runner.ready():
                inform(f"{options.url} serves {options.model!r} (after {time.monotonic() - start:.1f} s)")
                return
            last = "no version of it is AVAILABLE yet"
        except (urllib.error.URLError, OSError, ValueError, grpc.RpcError) as exc:
            details = getattr(exc, "details", None)
            last = str(details() if callable(details) else getattr(exc, "reason", None) or exc)
        if time.monotonic() - start >= options.wait_s:
            runner.close()
            raise EndpointError(f"{options.url} did not serve {options.model!r} within {options.wait_s:.0f} s: {last}")
        time.sleep(POLL_S)


class _SingleOutputNames(Runner):
    def __init__(self, inner: Runner, name: str) -> None:
        super().__init__()
        self.timings = inner.timings  # the inner runner times each request
        self.inner, self.output_name = inner, name
        self.input_names = inner.input_names
        self.name = inner.name

    def close(self) -> None:
        self.inner.close()

    def infer_impl(self, feeds):
        outputs = self.inner.infer(feeds)
        return {self.output_name: next(iter(outputs.values()))} if len(outputs) == 1 else outputs


def _runner(options: SmokeOptions, keys: dict[str, str]) -> tuple[Runner, str]:
    parsed = urlparse(options.url)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return RestRunner(options.url, options.model, options.version, keys), "served_rest"
    if parsed.scheme == "grpc" and parsed.netloc:
        return GrpcRunner(parsed.netloc, options.model, options.version, keys), "served_grpc"
    raise UsageError(f"URL {options.url!r}: use http://HOST:PORT for REST or grpc://HOST:PORT for gRPC")


def _add_to_report(directory: Path, entry: ParityEntry) -> None:
    report = read_report(directory / "report.json")
    update_report(directory, replace(report, parity=tuple(p for p in report.parity if p.target != entry.target)
                                     + (entry,)))
