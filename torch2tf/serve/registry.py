"""The models a local server serves: REPO's models.config, each version's serving_default.

Refusals are ServingErrors carrying both TF Serving's HTTP status and its gRPC code, so the REST
and gRPC front ends answer like TF Serving does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format

from torch2tf.errors import ServingError, UsageError
from torch2tf.native_logs import import_tensorflow
from torch2tf.records import Manifest, read_json
from torch2tf.serve.configs import parse_model_server_config
from torch2tf.serve.repository import CONTAINER_BASE, PACKAGE_INFO
from torch2tf.specs import SIGNATURE_KEY


def invalid(message: str) -> ServingError:
    return ServingError(400, "INVALID_ARGUMENT", message)


@dataclass
class ServedVersion:
    name: str
    version: int
    path: Path
    fn: Any = None
    inputs: dict[str, tuple[list, str]] = field(default_factory=dict)  # name → (shape, numpy dtype)
    signature_defs: Any = None  # tensorflow SignatureDef map (proto), for metadata
    loaded: Any = None  # the loaded SavedModel: the signature needs its object alive
    pytorch_names: dict[str, str] = field(default_factory=dict)  # signature input key → PyTorch/ONNX name

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tf = import_tensorflow()
        unknown = sorted(set(feeds) - set(self.inputs))
        if unknown:
            raise invalid(f"input tensor alias not found in signature: {', '.join(unknown)}. Inputs expected to be "
                          f"in the set {{{', '.join(sorted(self.inputs))}}}.")
        missing = sorted(set(self.inputs) - set(feeds))
        if missing:
            raise invalid(f"Missing input tensor alias: {', '.join(missing)}. Inputs expected to be in the set "
                          f"{{{', '.join(sorted(self.inputs))}}}.")
        tensors = {}
        for name, value in feeds.items():
            shape, dtype = self.inputs[name]
            try:
                value = np.asarray(value).astype(dtype, casting="same_kind" if value.dtype.kind == "f" else "unsafe")
            except (TypeError, ValueError) as exc:
                raise invalid(f"input {name}: expects {dtype}: {exc}") from exc
            if value.ndim != len(shape) or any(d is not None and d != v for d, v in zip(shape, value.shape)):
                raise invalid(f"input {name}: shape {list(value.shape)} does not match the signature's "
                              f"{['?' if d is None else d for d in shape]}")
            tensors[name] = tf.constant(value)
        try:
            outputs = self.fn(**tensors)
        except tf.errors.InvalidArgumentError as exc:
            raise invalid(exc.message) from exc
        return {k: v.numpy() for k, v in outputs.items()}


class ModelRegistry:
    """Loads every model and version that REPO/models.config names (paths under /models map to REPO).

    As TF Serving does, a version that fails to load does not stop the others: it is reported with
    state END and the reason (status endpoints), and a request for it answers NOT_FOUND.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.versions: dict[str, dict[int, ServedVersion]] = {}
        self.failures: dict[str, dict[int, str]] = {}  # model → version → why it did not load
        self.load()

    def load(self) -> None:
        config_path = self.repo / "models.config"
        if not config_path.is_file():
            raise UsageError(f"{self.repo} is not a model repository (no models.config)",
                             hint="create it with `torch2tf package`")
        try:
            config = parse_model_server_config(config_path)
        except Exception as exc:  # protobuf's text_format.ParseError, or bytes that are not text
            raise UsageError(f"{config_path} is not a valid ModelServerConfig: {str(exc).splitlines()[0]}",
                             hint="regenerate it with `torch2tf package`") from exc
        for entry in config.model_config_list.config:
            self.versions[entry.name], self.failures[entry.name] = {}, {}
            for version, path in self._chosen_versions(entry):
                try:
                    self.versions[entry.name][version] = self._load_version(entry.name, version, path)
                except Exception as exc:  # a broken version must not stop the good ones
                    self.failures[entry.name][version] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"

    def _chosen_versions(self, entry) -> list[tuple[int, Path]]:
        base = Path(entry.base_path)
        if entry.base_path.startswith(CONTAINER_BASE + "/") or entry.base_path == CONTAINER_BASE:
            base = self.repo / Path(entry.base_path).relative_to(CONTAINER_BASE)
        present = sorted(int(p.name) for p in base.iterdir() if p.name.isdigit()) if base.is_dir() else []
        policy = entry.model_version_policy.WhichOneof("policy_choice")
        if policy == "specific":
            chosen = [v for v in entry.model_version_policy.specific.versions if v in present]
        elif policy == "all":
            chosen = present
        else:
            chosen = present[-max(1, entry.model_version_policy.latest.num_versions or 1):]
        return [(v, base / str(v)) for v in chosen]

    def _load_version(self, name: str, version: int, path: Path) -> ServedVersion:
        from tensorflow.core.protobuf import saved_model_pb2

        tf = import_tensorflow()
        loaded = tf.saved_model.load(str(path))
        fn = loaded.signatures[SIGNATURE_KEY]
        inputs = {n: (spec.shape.as_list(), np.dtype(spec.dtype.as_numpy_dtype).name)
                  for n, spec in fn.structured_input_signature[1].items()}
        proto = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
        return ServedVersion(name, version, path, fn, inputs, proto.meta_graphs[0].signature_def, loaded,
                             _pytorch_names(path, inputs))

    def get(self, name: str, version: int | None = None) -> ServedVersion:
        versions = self.versions.get(name)
        if not versions or (version is not None and version not in versions):
            what = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServingError(404, "NOT_FOUND", f"Servable not found for request: {what}")
        return versions[version if version is not None else max(versions)]

    def status(self, name: str, version: int | None = None) -> list[dict]:
        """TF Serving's model_version_status: AVAILABLE, or END with the error of a version that failed."""
        known = {**{v: None for v in self.versions.get(name, {})}, **self.failures.get(name, {})}
        if not known or (version is not None and version not in known):
            what = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServingError(404, "NOT_FOUND", f"Could not find any versions of model {name}: {what}")
        wanted = [version] if version is not None else sorted(known, reverse=True)
        return [{"version": str(v), "state": "END" if known[v] else "AVAILABLE",
                 "status": {"error_code": "UNKNOWN" if known[v] else "OK", "error_message": known[v] or ""}}
                for v in wanted]

    def serving_summary(self) -> str:
        """One line per model for the terminal: the versions served, and those that failed."""
        lines = []
        for name in sorted(set(self.versions) | set(self.failures)):
            served = ", ".join(map(str, sorted(self.versions.get(name, {})))) or "none"
            failed = "".join(f"; version {v} failed to load: {why}" for v, why in sorted(self.failures[name].items()))
            lines.append(f"{name} (versions {served}){failed}")
        return "\n".join(lines)

    def metadata(self, served: ServedVersion) -> dict:
        """REST metadata: TF Serving's signature_def, plus the PyTorch name of each input key."""
        return {"signature_def": json_format.MessageToDict(self.signature_def_map(served)),
                "pytorch_names": {"inputs": served.pytorch_names}}

    def signature_def_map(self, served: ServedVersion):
        from tensorflow_serving.apis import get_model_metadata_pb2

        result = get_model_metadata_pb2.SignatureDefMap()
        for key, value in served.signature_defs.items():
            if not key.startswith("__"):
                result.signature_def[key].CopyFrom(value)
        return result


def _pytorch_names(path: Path, inputs: dict) -> dict[str, str]:
    """Signature input key → PyTorch name, from the version's package info (identity without one)."""
    try:
        names = {key: name for name, key in Manifest.from_json(read_json(path / PACKAGE_INFO)).input_keys().items()}
    except (OSError, ValueError):
        names = {}
    return {key: names.get(key, key) for key in inputs}
