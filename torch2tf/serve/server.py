"""``torch2tf serve``: a local development server speaking TF Serving's REST and gRPC APIs.

For machines without Docker (demos, tests). Production runs the TF Serving image that
``torch2tf package`` writes. REST: ``/v1/models/NAME[/versions/N][:predict|/metadata]`` with the
row ("instances") and columnar ("inputs") formats and ``{"error": ...}`` answers; gRPC:
PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus) from the official
protos. Requests are served concurrently; oversized bodies are refused; a shutdown drains.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from waitress import wasyncore
from waitress.server import create_server

from torch2tf.serve.grpc_api import start_grpc_server
from torch2tf.serve.registry import ModelRegistry
from torch2tf.serve.rest_api import RestApp

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 64 * 1024 * 1024
BACKLOG = 1024  # pending connections the kernel queues (http.server's default was 5)
CONNECTION_LIMIT = 1000  # open connections; beyond it new ones wait in the backlog
IDLE_TIMEOUT_S = 30  # a client that sends nothing for this long is disconnected
BODY_SLACK = 1 << 20  # waitress cuts bodies this far past the limit; below, the app answers TF Serving's 413
DRAIN_S = 30.0  # how long a shutdown waits for requests in flight


@dataclass
class ServerOptions:
    repo: Path
    host: str = DEFAULT_HOST
    rest_port: int = 8501
    grpc_port: int = 8500
    max_request_bytes: int = MAX_REQUEST_BYTES
    workers: int = 8
    idle_timeout_s: int = IDLE_TIMEOUT_S


class LocalServer:
    """Both front ends over one registry; ``start()`` returns at once, ``stop()`` drains and shuts down.

    REST runs on waitress (a production WSGI server: request bodies bounded, idle clients timed out,
    a real listen backlog, a fixed thread pool); gRPC on grpcio's server with the same byte limit.
    """

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.registry = ModelRegistry(options.repo)
        self._app = RestApp(self.registry, options.max_request_bytes)
        self._rest = None
        self._rest_thread: threading.Thread | None = None
        self._grpc = None
        self.grpc_port = 0

    def start(self) -> LocalServer:
        options = self.options
        self._rest = create_server(self._app, host=options.host, port=options.rest_port, threads=options.workers,
                                   backlog=BACKLOG, connection_limit=CONNECTION_LIMIT,
                                   channel_timeout=options.idle_timeout_s,
                                   cleanup_interval=max(1, options.idle_timeout_s // 2),
                                   max_request_body_size=options.max_request_bytes + BODY_SLACK, ident="torch2tf")
        self._rest_thread = threading.Thread(target=self._rest.run, name="rest", daemon=True)
        self._rest_thread.start()
        self._grpc, self.grpc_port = start_grpc_server(self.registry, options.host, options.grpc_port,
                                                       options.workers, options.max_request_bytes)
        return self

    @property
    def rest_port(self) -> int:
        return self._rest.effective_port

    def stop(self, grace_s: float = DRAIN_S) -> None:
        """Stop accepting, let the requests in flight finish (up to ``grace_s``), then close."""
        grpc_done = self._grpc.stop(grace=grace_s) if self._grpc is not None else None
        if self._rest is not None:
            self._in_loop(self._stop_accepting)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and self._rest_busy():
                time.sleep(0.05)
            self._rest.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
            self._in_loop(lambda: wasyncore.close_all(self._rest._map))
            self._rest_thread.join(timeout=5)
        if grpc_done is not None:
            grpc_done.wait()

    def _in_loop(self, work) -> None:
        """Run ``work`` in waitress's loop thread; here when that loop has already closed its trigger (a
        fresh-clone CI run once met the trigger's file descriptor closed at stop: EBADF): nothing is
        polled there any more, so nothing races with it."""
        try:
            self._rest.trigger.pull_trigger(work)
        except OSError:
            work()

    def _rest_busy(self) -> bool:
        """A request is in flight from its first byte to the last byte of its answer.

        A connection counts while it is receiving a request (``request``), has one queued or being
        answered (``requests``), or still has answer bytes to send; idle keep-alive connections do not.
        """
        if self._app.in_flight or self._rest.task_dispatcher.queue:
            return True
        return any(channel.request is not None or channel.requests or channel.total_outbufs_len
                   for channel in list(self._rest.active_channels.values()))

    def _stop_accepting(self) -> None:
        """In the loop thread: close the listening socket; open connections finish their requests."""
        self._rest.accepting = False
        self._rest.del_channel()
        self._rest.socket.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(grace_s=2)
