"""A content-addressed cache of conversion work: exports, onnxsim passes, onnx2tf runs.

An entry is a directory named by the sha256 of everything its content depends on (input bytes,
options, the installed versions of the tools involved); it is written in a hidden sibling and
renamed into place, so a reader sees a whole entry or none, and two runs storing the same entry
at once are both fine. Nothing in an entry is trusted beyond "these tools made these bytes from
those inputs": every file's sha256 is recorded at the store and checked on the copy a fetch makes (a
truncated or edited entry is discarded and the work done again), and parity is always checked again on
what comes out of the cache.

The cache lives in ``$TORCH2TF_CACHE_DIR``, else ``$XDG_CACHE_HOME/torch2tf``, else
``~/.cache/torch2tf``; moving or deleting that directory is always safe. It is kept under
``$TORCH2TF_CACHE_MAX_GB`` (default 10): after each store, the entries used longest ago go first
(a fetch marks an entry used).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE_ENV = "TORCH2TF_CACHE_DIR"
NO_CACHE_ENV = "TORCH2TF_NO_CACHE"  # set (not "0"): convert without the cache
MAX_GB_ENV = "TORCH2TF_CACHE_MAX_GB"
DEFAULT_MAX_GB = 10.0
ENTRY_FILE = "entry.json"
DIGESTS = "sha256"  # entry.json's record of every stored file's digest, by its path under files/


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "torch2tf"


def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions, read from package metadata (no heavy import)."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def onnx_digest(path: Path) -> str:
    """The ONNX file and its external data file, if any, as one digest."""
    parts = [file_digest(path)]
    data = path.with_name(path.name + ".data")
    if data.exists():
        parts.append(file_digest(data))
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def files_under(path: Path) -> list[Path]:
    """Every file under ``path`` (none if it does not exist), in path order."""
    return sorted(f for f in path.rglob("*") if f.is_file())


def file_digests(path: Path) -> dict[str, str]:
    """Every file under ``path``: its relative name → its sha256, in path order."""
    return {str(f.relative_to(path)): file_digest(f) for f in files_under(path)}


def directory_digest(path: Path) -> str:
    """Every file under ``path``, by relative name and content, as one digest."""
    digest = hashlib.sha256()
    for name, file_sha in file_digests(path).items():
        digest.update(f"{name}:{file_sha}\n".encode())
    return digest.hexdigest()


@dataclass
class Cache:
    """``root`` None: disabled (``--no-cache``); every lookup misses and nothing is stored."""

    root: Path | None
    used: list[str] = field(default_factory=list)  # "export", "onnxsim", "onnx2tf", "serving" entries served
    discarded: list[str] = field(default_factory=list)  # the kinds of entries found damaged (and removed)

    @staticmethod
    def key(kind: str, parts: dict[str, Any], packages: tuple[str, ...]) -> str:
        text = json.dumps({"kind": kind, "parts": parts, "versions": package_versions(("torch2tf", *packages))},
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def fetch(self, kind: str, key: str, target: Path) -> dict | None:
        """Copy the entry's files into the directory ``target``; return its metadata, None on a miss.
        A copy whose files differ from the digests recorded at the store is removed again, the entry
        discarded, and the fetch a miss."""
        if self.root is None:
            return None
        entry = self.root / kind / key
        try:
            meta = json.loads((entry / ENTRY_FILE).read_text())
            target.mkdir(parents=True, exist_ok=True)
            shutil.copytree(entry / "files", target, dirs_exist_ok=True)
            os.utime(entry / ENTRY_FILE)  # used now: the last to be evicted
        except (OSError, ValueError):
            return None  # absent, unreadable or evicted meanwhile: the work is simply done again
        digests = meta.pop(DIGESTS, None) if isinstance(meta, dict) else None
        if not isinstance(digests, dict) or not _copy_matches(target, digests):
            for stored in files_under(entry / "files"):  # the copy made above, file by file
                (target / stored.relative_to(entry / "files")).unlink(missing_ok=True)
            _remove(entry)
            self.discarded.append(kind)
            return None
        self.used.append(kind)
        meta.pop("bytes", None)  # the cache's own bookkeeping
        return meta

    def store(self, kind: str, key: str, files: list[Path], meta: dict | None = None) -> None:
        """Keep copies of ``files`` (files or directories) under the key; a failure to store is not an error."""
        if self.root is None:
            return
        entry = self.root / kind / key
        if entry.exists():
            return
        staging = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=entry.parent))
            for path in files:
                if path.is_dir():
                    shutil.copytree(path, staging / "files" / path.name)
                else:
                    (staging / "files").mkdir(exist_ok=True)
                    shutil.copy2(path, staging / "files" / path.name)
            size = sum(f.stat().st_size for f in files_under(staging / "files"))
            digests = file_digests(staging / "files")
            (staging / ENTRY_FILE).write_text(json.dumps({**(meta or {}), "bytes": size, DIGESTS: digests}))
            staging.rename(entry)
        except OSError:  # a full disk, a read-only cache, or a concurrent run stored it first
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            return
        evict(self.root, max_bytes(), keep=entry)


def _copy_matches(target: Path, digests: dict) -> bool:
    """Every file the entry recorded is in ``target`` with the digest it had when it was stored."""
    try:
        return bool(digests) and all(isinstance(d, str) and file_digest(target / name) == d
                                     for name, d in digests.items())
    except (OSError, TypeError):
        return False


def _remove(entry: Path) -> bool:
    """Remove an entry, renamed away first so that no new reader finds it; False if another run did."""
    doomed = entry.with_name(f".removed-{entry.name}-{os.getpid()}")
    try:
        entry.rename(doomed)
    except OSError:
        return False
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def max_gigabytes(text: str | None) -> float:
    """``$TORCH2TF_CACHE_MAX_GB``'s value (unset or empty: the default); ValueError unless a number ≥ 0."""
    gigabytes = float(text) if text else DEFAULT_MAX_GB  # ValueError for "5G"
    if not gigabytes >= 0 or gigabytes == float("inf"):
        raise ValueError(f"{text!r} is not a size in gigabytes")
    return gigabytes


def max_bytes() -> int:
    """The cache's size limit (the CLI refuses a bad $TORCH2TF_CACHE_MAX_GB; elsewhere it means the default)."""
    try:
        return int(max_gigabytes(os.environ.get(MAX_GB_ENV)) * 1e9)
    except ValueError:
        return int(DEFAULT_MAX_GB * 1e9)


def evict(root: Path, limit: int, keep: Path | None = None) -> list[Path]:
    """Remove the entries used longest ago until the cache holds at most ``limit`` bytes (never ``keep``).
    An entry is renamed away before it is deleted, so no new reader finds it; one copying it at that
    moment fails and does the work itself, as on any miss."""
    entries = []
    for meta_path in root.glob(f"*/*/{ENTRY_FILE}"):
        if meta_path.parent.name.startswith("."):  # a store or an eviction under way
            continue
        try:
            entries.append((meta_path.stat().st_mtime, json.loads(meta_path.read_text()).get("bytes", 0),
                            meta_path.parent))
        except (OSError, ValueError):
            continue
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if entry == keep:
            continue
        if not _remove(entry):  # another run evicted it first
            continue
        total -= size
        removed.append(entry)
    return removed
