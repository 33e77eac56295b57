"""``torch2tf serve``: a local development server speaking TF Serving's REST and gRPC APIs.

For machines without Docker (demos, tests). Production runs the TF Serving image that
``torch2tf package`` writes. REST: ``/v1/models/NAME[/versions/N][:predict|/metadata]`` with the
row ("instances") and columnar ("inputs") formats and ``{"error": ...}`` answers; gRPC:
PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus) from the official
protos. Requests are served concurrently; oversized bodies are refused.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from torch2tf.serve.grpc_api import start_grpc_server
from torch2tf.serve.registry import ModelRegistry
from torch2tf.serve.rest_api import rest_handler

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 64 * 1024 * 1024


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
        self.grpc_port = 0

    def start(self) -> LocalServer:
        options = self.options
        self._http = ThreadingHTTPServer((options.host, options.rest_port),
                                         rest_handler(self.registry, options.max_request_bytes))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="rest", daemon=True).start()
        self._grpc, self.grpc_port = start_grpc_server(self.registry, options.host, options.grpc_port,
                                                       options.workers, options.max_request_bytes)
        return self

    @property
    def rest_port(self) -> int:
        return self._http.server_address[1]

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
