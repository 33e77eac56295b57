"""``torch2tf serve``: a local development server speaking TF Serving's REST and gRPC APIs.

For machines without Docker (demos, tests). Production runs the TF Serving image that
``torch2tf package`` writes. REST: ``/v1/models/NAME[/versions/N][:predict|/metadata]`` with the
row ("instances") and columnar ("inputs") formats and ``{"error": ...}`` answers; gRPC:
PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus) from the official
protos. Requests are served concurrently; oversized bodies are refused.
"""
from __future__ import annotations

import json
import re
import threading
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from torch2tf.serve.models import ModelRegistry, ServingError, invalid

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 64 * 1024 * 1024
_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<action>:predict|/metadata)?/?$")


@dataclass
class ServerOptions:
    repo: Path
    host: str = DEFAULT_HOST
    rest_port: int = 8501
    grpc_port: int = 8500
    max_request_bytes: int = MAX_REQUEST_BYTES
    workers: int = 8


class LocalServer:
    """Both front ends over one registry; ``start()`` returns at once, ``stop()`` shuts down cleanly."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.registry = ModelRegistry(options.repo)
        self._http: ThreadingHTTPServer | None = None
        self._grpc = None

    def start(self) -> LocalServer:
        self._http = ThreadingHTTPServer((self.options.host, self.options.rest_port), _rest_handler(self))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="rest", daemon=True).start()
        self._grpc = _grpc_server(self)
        return self

    @property
    def rest_port(self) -> int:
        return self._http.server_address[1]

    @property
    def grpc_port(self) -> int:
        return self._grpc_port

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- REST -----------------------------------------------------------------------------------------

def _rest_handler(server: LocalServer):
    registry = server.registry
    limit = server.options.max_request_bytes

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # no access log on the terminal
            pass

        def do_GET(self) -> None:
            self._answer(lambda match: self._get(match))

        def do_POST(self) -> None:
            self._answer(lambda match: self._post(match))

        def _answer(self, handle) -> None:
            match = _ROUTE.match(self.path)
            try:
                if match is None:
                    raise ServingError(404, "NOT_FOUND", f"Malformed request: {self.command} {self.path}")
                status, body = 200, handle(match)
            except ServingError as exc:
                status, body = exc.http_status, {"error": exc.message}
            except Exception as exc:  # a bug in the server: report it like TF Serving's internal error
                status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _version(self, match) -> int | None:
            return int(match["version"]) if match["version"] else None

        def _get(self, match) -> dict:
            if match["action"] == ":predict":
                raise ServingError(405, "UNIMPLEMENTED", "predict needs POST")
            if match["action"] == "/metadata":
                served = registry.get(match["name"], self._version(match))
                from google.protobuf import json_format

                return {"model_spec": {"name": served.name, "signature_name": "", "version": str(served.version)},
                        "metadata": {"signature_def": json_format.MessageToDict(registry.signature_def_map(served))}}
            registry.get(match["name"], self._version(match))
            versions = registry.versions[match["name"]]
            wanted = [self._version(match)] if match["version"] else sorted(versions, reverse=True)
            return {"model_version_status": [{"version": str(v), "state": "AVAILABLE",
                                              "status": {"error_code": "OK", "error_message": ""}} for v in wanted]}

        def _post(self, match) -> dict:
            if match["action"] != ":predict":
                raise ServingError(405, "UNIMPLEMENTED", f"POST is only for :predict, not {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                self.close_connection = True
                raise ServingError(413, "RESOURCE_EXHAUSTED",
                                   f"Request body of {length} bytes exceeds the limit of {limit} bytes")
            raw = self.rfile.read(length)
            served = registry.get(match["name"], self._version(match))
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise invalid(f"JSON Parse error: {exc}") from exc
            return predict_json(served, body)

    return Handler


def predict_json(served, body) -> dict:
    """TF Serving's JSON predict API: row ("instances") or columnar ("inputs") in, same style out."""
    if not isinstance(body, dict):
        raise invalid("JSON Value: request must be a JSON object")
    signature = body.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise invalid(f"Serving signature name: \"{signature}\" not found in signature def")
    names = sorted(served.inputs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise invalid("'instances' must be a non-empty JSON list")
        if all(isinstance(i, dict) for i in instances):
            feeds = {n: _array([i.get(n) for i in instances], n) for n in {k for i in instances for k in i}}
        elif len(names) == 1:
            feeds = {names[0]: _array(instances, names[0])}
        else:
            raise invalid(f"instances must be objects naming the inputs {names}")
        outputs = served.predict(feeds)
        if len(outputs) == 1:
            return {"predictions": next(iter(outputs.values())).tolist()}
        rows = len(next(iter(outputs.values())))
        return {"predictions": [{k: v[r].tolist() for k, v in outputs.items()} for r in range(rows)]}
    if "inputs" in body:
        inputs = body["inputs"]
        feeds = ({n: _array(v, n) for n, v in inputs.items()} if isinstance(inputs, dict)
                 else {names[0]: _array(inputs, names[0])} if len(names) == 1 else None)
        if feeds is None:
            raise invalid(f"'inputs' must be an object naming the inputs {names}")
        outputs = served.predict(feeds)
        if len(outputs) == 1:
            return {"outputs": next(iter(outputs.values())).tolist()}
        return {"outputs": {k: v.tolist() for k, v in outputs.items()}}
    raise invalid("Missing 'inputs' or 'instances' key")


def _array(value, name: str) -> np.ndarray:
    try:
        array = np.array(value)
    except ValueError as exc:
        raise invalid(f"input {name}: ragged or malformed tensor: {exc}") from exc
    if array.dtype == object:
        raise invalid(f"input {name}: ragged or malformed tensor")
    return array


# -- gRPC ------------------------------------------------------------------------------------------

def _grpc_server(server: LocalServer):
    from torch2tf.native_logs import import_tensorflow

    import_tensorflow()
    import grpc
    from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                         predict_pb2, prediction_service_pb2_grpc)

    registry = server.registry

    def fail(context, exc: ServingError):
        context.abort(getattr(grpc.StatusCode, exc.grpc_code), exc.message)

    def version_of(spec) -> int | None:
        return spec.version.value if spec.HasField("version") else None

    class Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            from torch2tf.native_logs import import_tensorflow

            tf = import_tensorflow()
            try:
                served = registry.get(request.model_spec.name, version_of(request.model_spec))
                feeds = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
                outputs = served.predict(feeds)
            except ServingError as exc:
                fail(context, exc)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = served.name
            response.model_spec.version.value = served.version
            response.model_spec.signature_name = "serving_default"
            for key, value in outputs.items():
                if not request.output_filter or key in request.output_filter:
                    response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

        def GetModelMetadata(self, request, context):
            try:
                served = registry.get(request.model_spec.name, version_of(request.model_spec))
            except ServingError as exc:
                fail(context, exc)
            if list(request.metadata_field) != ["signature_def"]:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field signature_def is the only one supported")
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = served.name
            response.model_spec.version.value = served.version
            response.metadata["signature_def"].Pack(registry.signature_def_map(served))
            return response

    class Status(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):
            try:
                registry.get(request.model_spec.name, version_of(request.model_spec))
            except ServingError as exc:
                fail(context, exc)
            versions = registry.versions[request.model_spec.name]
            wanted = [version_of(request.model_spec)] if request.model_spec.HasField("version") else sorted(versions)
            response = get_model_status_pb2.GetModelStatusResponse()
            for v in wanted:
                status = response.model_version_status.add(version=v,
                                                           state=get_model_status_pb2.ModelVersionStatus.AVAILABLE)
                status.status.error_code = 0
            return response

    limit = server.options.max_request_bytes
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=server.options.workers),
                              options=[("grpc.max_receive_message_length", limit),
                                       ("grpc.max_send_message_length", limit)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Prediction(), grpc_server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(Status(), grpc_server)
    server._grpc_port = grpc_server.add_insecure_port(f"{server.options.host}:{server.options.grpc_port}")
    if server._grpc_port == 0:
        raise OSError(f"cannot bind gRPC to {server.options.host}:{server.options.grpc_port}")
    grpc_server.start()
    return grpc_server
