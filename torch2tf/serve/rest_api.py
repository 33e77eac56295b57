"""TF Serving's REST API over a model registry: ``/v1/models/NAME[/versions/N][:predict|/metadata]``.

Row ("instances") and columnar ("inputs") formats, ``{"error": ...}`` answers with TF Serving's
status codes; request bodies above the limit are refused.
"""
from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler

import numpy as np
from google.protobuf import json_format

from torch2tf.errors import ServingError
from torch2tf.serve.registry import ModelRegistry, invalid

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<action>:predict|/metadata)?/?$")


def rest_handler(registry: ModelRegistry, limit: int) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``registry``, refusing bodies over ``limit`` bytes."""
    return type("BoundRestHandler", (RestHandler,), {"registry": registry, "limit": limit})


class RestHandler(BaseHTTPRequestHandler):
    """One REST request; ``rest_handler`` binds the registry and the body limit."""

    registry: ModelRegistry
    limit: int
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # no access log on the terminal
        pass

    def do_GET(self) -> None:
        self._answer(lambda match: self._get(match))

    def do_POST(self) -> None:
        self._answer(lambda match: self._post(match))

    def _answer(self, handle) -> None:
        match = ROUTE.match(self.path)
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
            served = self.registry.get(match["name"], self._version(match))
            return {"model_spec": {"name": served.name, "signature_name": "", "version": str(served.version)},
                    "metadata": {"signature_def": json_format.MessageToDict(self.registry.signature_def_map(served))}}
        self.registry.get(match["name"], self._version(match))
        versions = self.registry.versions[match["name"]]
        wanted = [self._version(match)] if match["version"] else sorted(versions, reverse=True)
        return {"model_version_status": [{"version": str(v), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}} for v in wanted]}

    def _post(self, match) -> dict:
        if match["action"] != ":predict":
            raise ServingError(405, "UNIMPLEMENTED", f"POST is only for :predict, not {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.limit:
            self.close_connection = True
            raise ServingError(413, "RESOURCE_EXHAUSTED",
                               f"Request body of {length} bytes exceeds the limit of {self.limit} bytes")
        raw = self.rfile.read(length)
        served = self.registry.get(match["name"], self._version(match))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise invalid(f"JSON Parse error: {exc}") from exc
        return predict_json(served, body)


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
