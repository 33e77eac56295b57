"""The export, remembered: a model whose weights, code, inputs and options did not change is not exported again.

The key is what the ONNX file depends on: the weights and buffers (every byte), the source files
of the model's classes and of MODEL's file (or the .pt/.pt2 file's bytes), the input specs and the
sample the exporter traces with, the opset and output names, and the installed torch, onnx and
torch2tf. The model still runs in torch on every sample: the export is checked against it again.
"""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

from torch2tf.cache import Cache, file_digest
from torch2tf.conversion.export import ExportRequest, ExportResult, export_onnx
from torch2tf.model_source import LoadedModel, model_file
from torch2tf.records import ExportAttempt

PACKAGES = ("torch", "onnx", "onnxscript")


def export_with_cache(request: ExportRequest, source: str, cache: Cache) -> tuple[ExportResult, bool]:
    """Export (or take the earlier export from the cache); True when it came from the cache."""
    fingerprint = model_fingerprint(source, request.loaded) if cache.root is not None else None
    if fingerprint is None:
        return export_onnx(request), False
    key = cache.key("export", {"model": fingerprint, "specs": [s.to_json() for s in request.specs],
                               "feeds": _feeds_digest(request.feeds), "opset": request.opset,
                               "outputs": request.output_names, "name": request.path.name}, PACKAGES)
    meta = cache.fetch("export", key, request.path.parent)
    if meta is not None:
        attempts = tuple(ExportAttempt.from_json(a) for a in meta["attempts"])
        return ExportResult(request.path, meta["exporter"], attempts), True
    result = export_onnx(request)
    data = result.path.with_name(result.path.name + ".data")
    cache.store("export", key, [result.path, data] if data.exists() else [result.path],
                {"exporter": result.exporter, "attempts": [a.to_json() for a in result.attempts]})
    return result, False


def model_fingerprint(source: str, loaded: LoadedModel) -> str | None:
    """A digest of everything the model computes with; None when it cannot be read (no caching then)."""
    path = model_file(source)
    if loaded.kind in ("torchscript", "exported_program"):
        return file_digest(path) if path else None
    if loaded.kind != "callable" or loaded.module is None:
        return None
    import torch

    digest = hashlib.sha256()
    try:
        for name, tensor in loaded.module.state_dict().items():
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(flat.view(torch.uint8).numpy().tobytes())
        sources = {inspect.getsourcefile(type(m)) for m in loaded.module.modules()} | ({str(path)} if path else set())
    except (TypeError, RuntimeError, OSError):  # sparse, quantized or meta tensors; classes without a file
        return None
    for file in sorted(s for s in sources if s):
        digest.update(file.encode() + file_digest(Path(file)).encode())
    return digest.hexdigest()


def _feeds_digest(feeds) -> str:
    digest = hashlib.sha256()
    for name in sorted(feeds):
        value = feeds[name]
        digest.update(f"{name}:{value.dtype}:{value.shape}".encode() + value.tobytes())
    return digest.hexdigest()
