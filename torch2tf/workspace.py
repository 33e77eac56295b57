"""Directories a run owns (staging, work, package staging), and the sweep of those a dead run left.

Each owned directory has a lock file beside it (``NAME.lock``) that the owning process holds while
it lives. A run killed by SIGKILL cannot clean up; the next run that looks in the same place finds
directories whose lock nobody holds and removes them. Locks (fcntl, through ``filelock``) work
across processes and PID namespaces on one host, where a PID check would not.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_SUFFIX = ".lock"
# A model name that is safe as one directory name (fullmatch: no "$" that lets "abc\n" through).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def is_safe_name(name: object) -> bool:
    return isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)) and ".." not in name


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` in one rename: a reader (TF Serving polling its config, CI) never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text)
        if mode is not None:
            partial.chmod(mode)
        os.replace(partial, path)
    except BaseException:  # a full disk or an interrupt: no .partial file left behind
        partial.unlink(missing_ok=True)
        raise


class OwnedDir:
    """A new directory under ``parent`` named ``PREFIX…``, with its owner lock held until ``release``."""

    def __init__(self, parent: Path, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self._lock = FileLock(str(self.path) + LOCK_SUFFIX)
        self._lock.acquire()

    def release(self, remove: bool = True) -> None:
        """Give the directory up: remove it (or keep it, renamed away by the caller) and its lock."""
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        self._lock.release()
        Path(self._lock.lock_file).unlink(missing_ok=True)


def sweep_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove ``PREFIX…`` directories in ``parent`` whose owner lock is free (their run is gone)."""
    removed = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return removed
    for path in candidates:
        lock_path = Path(str(path) + LOCK_SUFFIX)
        if not lock_path.exists():
            continue  # not ours, or made by a version without locks: never guess
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # its owner is alive
        try:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            lock.release()
            lock_path.unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def owned_dir(parent: Path | None, prefix: str, keep: bool = False) -> Iterator[Path]:
    """Sweep what dead runs left under ``parent`` (default: the temp dir), then own a new directory.

    It is removed on exit unless ``keep`` (then only its lock goes, so no sweep ever takes it).
    """
    parent = Path(parent or tempfile.gettempdir())
    sweep_stale(parent, prefix)
    owned = OwnedDir(parent, prefix)
    try:
        yield owned.path.resolve()
    finally:
        owned.release(remove=not keep)


# Caches libraries write outside any directory of ours unless told otherwise.
CACHE_VARIABLES = {"TORCHINDUCTOR_CACHE_DIR": "torchinductor", "KERAS_HOME": "keras", "MPLCONFIGDIR": "matplotlib"}


@contextlib.contextmanager
def contained_caches() -> Iterator[Path]:
    """Point torch's inductor cache, Keras' home and matplotlib's config into a directory of this run.

    Without it a conversion leaves /tmp/torchinductor_<user> and ~/.keras behind. Variables the
    user set are left alone; the directory is removed (and the variables restored) at the end.
    """
    with owned_dir(None, "torch2tf-cache-") as cache:
        previous = {name: os.environ.get(name) for name in CACHE_VARIABLES}
        for name, sub in CACHE_VARIABLES.items():
            os.environ.setdefault(name, str(cache / sub))
        try:
            yield cache
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
