"""TF Serving's REST API over a model registry: ``/v1/models/NAME[/versions/N][:predict|/metadata]``.

A WSGI application (served by waitress, see server.py). Row ("instances") and columnar ("inputs")
formats, ``{"error": ...}`` answers with TF Serving's status codes; bodies above the limit, bad
Content-Length values and JSON nested beyond reason are refused without reading on.
"""
from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus

import numpy as np

from torch2tf.errors import ServingError
from torch2tf.serve.registry import ModelRegistry, invalid
from torch2tf.specs import SIGNATURE_KEY

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<action>:predict|/metadata)?/?$")


class RestApp:
    """The WSGI application; counts the requests in flight so a shutdown can drain them."""

    def __init__(self, registry: ModelRegistry, limit: int) -> None:
        self.registry, self.limit = registry, limit
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def __call__(self, environ, start_response):
        with self._lock:
            self._in_flight += 1
        try:
            status, body = self._answer(environ)
        finally:
            with self._lock:
                self._in_flight -= 1
        data = json.dumps(body).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _answer(self, environ) -> tuple[int, dict]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        match = ROUTE.match(path)
        try:
            if match is None:
                raise ServingError(404, "NOT_FOUND", f"Malformed request: {method} {path}")
            if method == "GET":
                return 200, self._get(match)
            if method == "POST":
                return 200, self._post(match, environ)
            raise ServingError(405, "UNIMPLEMENTED", f"{method} is not supported")
        except ServingError as exc:
            return exc.http_status, {"error": exc.message}
        except Exception as exc:  # a bug in the server: report it like TF Serving's internal error
            return 500, {"error": f"{type(exc).__name__}: {exc}"}

    def _get(self, match) -> dict:
        version = int(match["version"]) if match["version"] else None
        if match["action"] == ":predict":
            raise ServingError(405, "UNIMPLEMENTED", "predict needs POST")
        if match["action"] == "/metadata":
            served = self.registry.get(match["name"], version)
            return {"model_spec": {"name": served.name, "signature_name": "", "version": str(served.version)},
                    "metadata": self.registry.metadata(served)}
        return {"model_version_status": self.registry.status(match["name"], version)}

    def _post(self, match, environ) -> dict:
        if match["action"] != ":predict":
            raise ServingError(405, "UNIMPLEMENTED", f"POST is only for :predict, not {environ.get('PATH_INFO')}")
        length = _content_length(environ)
        if length > self.limit:
            raise ServingError(413, "RESOURCE_EXHAUSTED",
                               f"Request body of {length} bytes exceeds the limit of {self.limit} bytes")
        raw = environ["wsgi.input"].read(length)
        served = self.registry.get(match["name"], int(match["version"]) if match["version"] else None)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise invalid(f"JSON Parse error: {exc}") from exc
        except RecursionError:
            raise invalid("JSON Parse error: nested too deeply") from None
        return predict_json(served, body)


def _content_length(environ) -> int:
    text = environ.get("CONTENT_LENGTH") or "0"
    if not text.isdigit():
        raise ServingError(400, "INVALID_ARGUMENT", f"Content-Length {text!r} is not a byte count")
    return int(text)


def predict_json(served, body) -> dict:
    """TF Serving's JSON predict API: row ("instances") or columnar ("inputs") in, same style out."""
    if not isinstance(body, dict):
        raise invalid("JSON Value: request must be a JSON object")
    signature = body.get("signature_name", SIGNATURE_KEY)
    if signature != SIGNATURE_KEY:
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
