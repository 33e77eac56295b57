"""Output directories written atomically and manifest.json (``records.Manifest``) describing what is in them.

A run writes into a hidden sibling of the output directory and renames it into place at the end,
so a failed or interrupted run never leaves a half artifact where a user (or TF Serving) looks.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

from torch2tf.cache import file_digest
from torch2tf.errors import OutputDirError
from torch2tf.inputs import embedding_sizes
from torch2tf.records import ArtifactEntry, Manifest, Stamp, load_record, read_json, write_json
from torch2tf.workspace import OwnedDir, sweep_stale


def check_output_dir(out: Path, force: bool, keep: tuple[Path, ...] = ()) -> None:
    """Fail early (before any slow stage) when ``out`` cannot receive the results.

    ``--force`` replaces only an empty directory or an earlier torch2tf output (its manifest.json),
    and never the current directory, its ancestors, the home directory or a directory holding
    one of the ``keep`` files (the MODEL file).
    """
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"output path {out} exists and is not a directory")
    if out.is_dir():
        _refuse_protected(out.resolve(), keep)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputDirError(f"output directory {out} is not empty", hint="pass --force to replace it")
        if not is_torch2tf_output(out):
            raise OutputDirError(f"--force replaces only an empty directory or an earlier torch2tf output "
                                 f"(with its manifest.json); {out} is neither")
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputDirError(f"cannot create the parent directory of {out}: {exc.strerror}") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputDirError(f"cannot write to {parent}: permission denied")


def _refuse_protected(out: Path, keep: tuple[Path, ...]) -> None:
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise OutputDirError(f"refusing to write over {out}: it is the current directory or one of its parents")
    if out == Path.home().resolve():
        raise OutputDirError(f"refusing to write over {out}: it is the home directory")
    for path in keep:
        if out in path.resolve().parents:
            raise OutputDirError(f"refusing to write over {out}: it holds the model file {path}")


def is_torch2tf_output(directory: Path) -> bool:
    """Does ``directory`` hold a manifest.json that torch2tf wrote?"""
    try:
        data = read_json(directory / "manifest.json")
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "schema_version" in data and "artifacts" in data


class StagingDir:
    """A hidden sibling of ``out``; ``commit()`` renames it into place, ``discard()`` removes it.

    Staging directories that a killed run left next to ``out`` are swept first.
    """

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        prefix = f".{self.out.name}.torch2tf-"
        sweep_stale(self.out.parent, prefix)
        try:
            self._owned = OwnedDir(self.out.parent, prefix)
        except OSError as exc:
            raise OutputDirError(f"cannot create a directory next to {out}: {exc.strerror}") from exc
        self.path = self._owned.path

    def commit(self) -> Path:
        # mkdtemp creates 0700; give the result the permissions a plain mkdir would have.
        umask = os.umask(0)
        os.umask(umask)
        self.path.chmod(0o777 & ~umask)
        old = None
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.torch2tf-old-{os.getpid()}")
            self.out.rename(old)
        self.path.rename(self.out)
        self._owned.release(remove=False)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out

    def discard(self) -> None:
        self._owned.release()


sha256_of = file_digest  # the manifest's digests are the cache's


def write_manifest(directory: Path, manifest: Manifest) -> Manifest:
    """``manifest`` with every file under ``directory`` (but the manifest) listed with sha256 and size."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "manifest.json")
    return _write_manifest(directory, manifest, tuple(_entry(directory, str(p.relative_to(directory))) for p in files))


def read_manifest(directory: Path) -> Manifest:
    path = directory / "manifest.json"
    if not path.is_file():
        raise OutputDirError(f"{directory} is not a torch2tf output directory (no manifest.json)")
    return load_record(path, Manifest, OutputDirError, "manifest")


def measured_stamp(manifest: Manifest, prefixes: tuple[str, ...]) -> Stamp:
    """When a measurement was taken and against which artifacts (a digest of their manifest entries):
    what validate keeps beside the sections it does not measure again (served rows, bench, profile)."""
    return Stamp(datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 _artifact_digests(manifest, prefixes))


def _artifact_digests(manifest: Manifest, prefixes: tuple[str, ...]) -> dict[str, str]:
    digests = {}
    for prefix in prefixes:
        entries = sorted((a.path, a.sha256) for a in manifest.artifacts if a.path.startswith(prefix))
        digests[prefix] = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    return digests


def stale_measurement(stamp: Stamp | None, manifest: Manifest) -> bool:
    """Did any artifact a measurement was stamped with change since (or was it never stamped)?"""
    if stamp is None:
        return True
    return _artifact_digests(manifest, tuple(stamp.artifacts)) != stamp.artifacts


def refresh_manifest_entries(directory: Path, names: tuple[str, ...], manifest: Manifest | None = None) -> Manifest:
    """Re-hash only these files in manifest.json: a changed artifact must stay visible as changed."""
    manifest = manifest or read_manifest(directory)
    return _write_manifest(directory, manifest, tuple(_entry(directory, a.path) if a.path in names else a
                                                      for a in manifest.artifacts))


def _entry(directory: Path, relative: str) -> ArtifactEntry:
    path = directory / relative
    return ArtifactEntry(relative, sha256_of(path), path.stat().st_size)


def _write_manifest(directory: Path, manifest: Manifest, artifacts: tuple[ArtifactEntry, ...]) -> Manifest:
    manifest = replace(manifest, artifacts=artifacts)
    write_json(directory / "manifest.json", manifest.to_json())
    return manifest


def manifest_vocab(directory: Path, manifest: Manifest) -> dict[str, int]:
    """Token-id bounds recorded at convert time (read off model.onnx for outputs written before that)."""
    if manifest.vocab_sizes is not None:
        return manifest.vocab_sizes
    return embedding_sizes(directory / "model.onnx")
