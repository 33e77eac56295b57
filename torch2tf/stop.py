"""A stop request (SIGTERM) that code which swallows KeyboardInterrupt cannot lose.

SIGTERM raises Terminated wherever the program is, as Ctrl-C does. A library that catches it (a
bare ``except`` around an optional import, say) would let the run go on and write its output. So
the request is also recorded here; the pipeline checks it at every stage boundary and before it
commits an output directory.
"""
from __future__ import annotations

import threading

_requested = threading.Event()


class Terminated(KeyboardInterrupt):
    """SIGTERM (CI cancel, timeout, docker stop, Kubernetes), raised where the program is, as Ctrl-C is."""


def request_stop() -> None:
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def raise_if_stopped() -> None:
    if _requested.is_set():
        raise Terminated()
