"""Output directories written atomically, manifest.json describing what is in them, TFLite variants.

A run writes into a hidden sibling of the output directory and renames it into place at the end,
so a failed or interrupted run never leaves a half artifact where a user (or TF Serving) looks.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from torch2tf.cache import file_digest
from torch2tf.errors import OutputDirError
from torch2tf.inputs import embedding_sizes
from torch2tf.specs import SignaturePlan, TensorBinding, TensorSpec
from torch2tf.workspace import OwnedDir, sweep_stale

MANIFEST_SCHEMA_VERSION = 1


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
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "schema_version" in manifest and "artifacts" in manifest


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


def write_manifest(directory: Path, info: dict[str, Any], versions: dict[str, str]) -> None:
    """List every file under ``directory`` (but the manifest) with sha256 and size, plus ``info``."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "manifest.json")
    artifacts = [{"path": str(p.relative_to(directory)), "sha256": sha256_of(p), "size": p.stat().st_size}
                 for p in files]
    manifest = {"schema_version": MANIFEST_SCHEMA_VERSION, "artifacts": artifacts, "versions": versions, **info}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / "manifest.json"
    if not path.is_file():
        raise OutputDirError(f"{directory} is not a torch2tf output directory (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise OutputDirError(f"{path} is not valid JSON: {exc}") from exc


def measured_stamp(manifest: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """When a measurement was taken and against which artifacts (a digest of their manifest entries):
    what validate keeps beside the sections it does not measure again (served rows, bench, profile)."""
    digests = {}
    for prefix in prefixes:
        entries = sorted((a["path"], a["sha256"]) for a in manifest.get("artifacts", [])
                         if a.get("path", "").startswith(prefix) and "sha256" in a)
        digests[prefix] = hashlib.sha256(json.dumps(entries).encode()).hexdigest()
    return {"at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "artifacts": digests}


def stale_measurement(stamp: dict[str, Any] | None, manifest: dict[str, Any]) -> bool:
    """Did any artifact a measurement was stamped with change since (or was it never stamped)?"""
    if not stamp or "artifacts" not in stamp:
        return True
    return measured_stamp(manifest, tuple(stamp["artifacts"]))["artifacts"] != stamp["artifacts"]


def refresh_manifest_entries(directory: Path, names: tuple[str, ...], manifest: dict[str, Any] | None = None) -> None:
    """Re-hash only these files in manifest.json: a changed artifact must stay visible as changed."""
    manifest = manifest or read_manifest(directory)
    for artifact in manifest["artifacts"]:
        if artifact["path"] in names:
            path = directory / artifact["path"]
            artifact.update(sha256=sha256_of(path), size=path.stat().st_size)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def tflite_variants(quantized_targets: list[str] = (), strict_quant: bool = False) -> dict[str, dict[str, Any]]:
    """Where each TFLite variant lives in an output directory and which tolerance preset checks it.

    fp32/fp16 always gate; quantized variants gate only with --strict-quant.
    """
    variants = {"tflite_float32": {"path": "tflite/model_float32.tflite", "preset": "fp32", "gating": True},
                "tflite_float16": {"path": "tflite/model_float16.tflite", "preset": "fp16", "gating": True}}
    for target in quantized_targets:
        variants[target] = {"path": f"tflite/model_{target.removeprefix('tflite_')}.tflite", "preset": "int8",
                            "gating": strict_quant}
    return variants


def manifest_tflite_variants(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The variants a manifest lists (older manifests list none: the float pair)."""
    return manifest["tflite"].get("variants") or tflite_variants()


def manifest_tflite_bindings(manifest: dict[str, Any], target: str) -> tuple[list[TensorBinding], list[TensorBinding]]:
    """How the PyTorch tensors map onto the tensors of one .tflite variant (inputs, outputs)."""
    variant = manifest_tflite_variants(manifest)[target]
    outputs = variant.get("outputs") or manifest["tflite"]["outputs"]
    return ([TensorBinding(**b) for b in manifest["tflite"]["inputs"]], [TensorBinding(**b) for b in outputs])


def manifest_specs(manifest: dict[str, Any]) -> list[TensorSpec]:
    return [TensorSpec.from_json(i) for i in manifest["inputs"]]


def manifest_input_keys(manifest: dict[str, Any]) -> dict[str, str]:
    """PyTorch/ONNX input name → the key the SavedModel's signature (and so TF Serving) takes it under."""
    if "signature" not in manifest:
        return {i["name"]: i["name"] for i in manifest["inputs"]}
    return SignaturePlan.from_json(manifest["signature"]).input_keys()


def manifest_vocab(directory: Path, manifest: dict[str, Any]) -> dict[str, int]:
    """Token-id bounds recorded at convert time (read off model.onnx for outputs written before that)."""
    if "vocab_sizes" in manifest:
        return manifest["vocab_sizes"]
    return embedding_sizes(directory / "model.onnx")
