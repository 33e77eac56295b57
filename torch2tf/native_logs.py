"""Keep TensorFlow's and LiteRT's native start-up chatter off the user's terminal.

TF 2.21 logs through absl from C++ straight to file descriptor 2 (oneDNN, CUDA probing, CPU
features), ignoring TF_CPP_MIN_LOG_LEVEL for the messages printed before absl is initialized.
We capture fd 2 around the few calls that emit it and pass on only lines that are not chatter.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings

_CHATTER = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} [\d:. ]+\s+\d+ \S+\.cc:\d+\]|"
                      r"To enable the following instructions|INFO: Created TensorFlow Lite XNNPACK|\s*$)")


_terminal: list[int] = []  # while filtered_native_stderr runs: the saved fd of what fd 2 was (the terminal)


def original_stderr_fd() -> int | None:
    """While fd 2 is captured, a descriptor of what it was (a progress line goes there, not into the
    capture); None when fd 2 is itself."""
    return _terminal[0] if _terminal else None


@contextlib.contextmanager
def filtered_native_stderr():
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # stderr replaced (e.g. by a test runner)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        _terminal.append(saved)
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            _terminal.remove(saved)
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            kept = [ln for ln in capture.read().decode(errors="replace").splitlines() if not _CHATTER.match(ln)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def import_tensorflow():
    """``import tensorflow`` (~4 s, ~550 MB) without its start-up chatter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_native_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here, once
    return tf


def make_interpreter(path: str | None, threads: int, content: bytes | None = None, inspect: bool = False):
    """A LiteRT interpreter (XNNPACK applied as by default); ``inspect`` keeps every intermediate tensor
    readable after a run (LiteRT's own kernels only: XNNPACK hides what it computes inside a partition)."""
    with filtered_native_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteRT warns that preserving tensors is for debugging
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        options = {"experimental_preserve_all_tensors": True,
                   "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES} if inspect else {}
        return Interpreter(model_path=path, model_content=content, num_threads=threads, **options)


@contextlib.contextmanager
def silenced_fds(*fds: int):
    """Send what C++ code writes to these file descriptors (default stdout and stderr) nowhere."""
    fds = fds or (1, 2)
    try:
        saved = [os.dup(fd) for fd in fds]
    except OSError:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.devnull, "wb") as devnull:
        for fd in fds:
            os.dup2(devnull.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved):
                os.dup2(copy, fd)
                os.close(copy)


def exit_past_teardown(code: int) -> None:
    """Leave now, once every file is written: Python's exit handlers run (logging's flush, TensorFlow's
    autograph temp-file removal), the streams are flushed, and torch's and TensorFlow's native
    teardown at interpreter exit (~1.5 s) is skipped."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
