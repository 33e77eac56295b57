"""torch.nn.Module → ONNX, with the dynamo exporter first and the TorchScript exporter as fallback.

Also where a user's own .onnx is re-saved in our layout, and where the opset really written is read.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from torch2tf.errors import ExportError, UsageError
from torch2tf.model_source import LoadedModel
from torch2tf.native_logs import silenced_fds
from torch2tf.specs import TensorSpec, load_onnx_graph

EXPORTERS = ("dynamo", "torchscript")
# torch.export specializes a dynamic axis whose example size is 1: trace with 2.
TRACE_BATCH = 2


@dataclass
class ExportResult:
    path: Path
    exporter: str
    output_names: list[str]
    attempts: list[dict[str, str]]  # every exporter tried, with why it failed


def export_onnx(loaded: LoadedModel, specs: list[TensorSpec], feeds: dict[str, np.ndarray],
                path: Path, opset: int, output_names: list[str],
                exporters: tuple[str, ...] = EXPORTERS) -> ExportResult:
    """Export with each exporter in turn; the first that writes a valid file wins."""
    attempts: list[dict[str, str]] = []
    for exporter in exporters:
        for stale in (path, path.with_name(path.name + ".data")):
            stale.unlink(missing_ok=True)
        try:
            _EXPORT[exporter](loaded, specs, feeds, path, opset, output_names)
        except Exception as exc:  # every exporter failure is recorded; the next one is tried
            attempts.append({"exporter": exporter, "status": "failed", "reason": _reason(exc)})
            continue
        attempts.append({"exporter": exporter, "status": "ok", "reason": ""})
        return ExportResult(path, exporter, output_names, attempts)
    reasons = "; ".join(f"{a['exporter']}: {a['reason']}" for a in attempts)
    ops = unexportable_ops(reasons)
    if ops:
        raise ExportError(f"PyTorch operator(s) with no ONNX export: {', '.join(ops)} ({reasons})",
                          hint="replace them with exportable operations, or try another --opset")
    raise ExportError(f"torch.onnx.export failed with every exporter ({reasons})",
                      hint="try another --opset, or check the operator with `torch2tf check`")


def unexportable_ops(text: str) -> list[str]:
    """The aten operators named in exporter errors, e.g. ``aten::linalg_inv``."""
    names = re.findall(r"aten(?:::|\.)([A-Za-z0-9_]+)", text)
    return sorted({f"aten::{n}" for n in names if n not in ("default",)})


def _reason(exc: BaseException) -> str:
    """One line: the dynamo exporter's 'Exception summary' when it has one, else the first line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "## Exception summary" in lines:
        summary = lines[lines.index("## Exception summary") + 1:]
        if summary:
            return summary[0][:500]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]


@contextlib.contextmanager
def _quiet():
    """The exporters print progress and warnings; keep them off the user's terminal."""
    buffer = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), \
                silenced_fds():  # the TorchScript exporter dumps whole graphs from C++ on failure
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _trace_args(specs: list[TensorSpec], feeds: dict[str, np.ndarray]) -> tuple:
    import torch

    args = []
    for spec in specs:
        array = feeds[spec.name]
        if spec.dynamic_batch and array.shape[0] < TRACE_BATCH:
            array = np.concatenate([array] * TRACE_BATCH, axis=0)[:TRACE_BATCH]
        args.append(torch.from_numpy(np.ascontiguousarray(array)))
    return tuple(args)


def _export_dynamo(loaded, specs, feeds, path, opset, output_names) -> None:
    import torch

    with _quiet():
        if loaded.exported_program is not None:
            torch.onnx.export(loaded.exported_program, (), str(path), dynamo=True, opset_version=opset,
                              input_names=[s.name for s in specs], output_names=output_names,
                              external_data=True, verbose=False)
            return
        batch = torch.export.Dim("batch", min=1, max=4096)
        dynamic = tuple({0: batch} if s.dynamic_batch else None for s in specs)
        torch.onnx.export(loaded.module, _trace_args(specs, feeds), str(path), dynamo=True,
                          opset_version=opset, input_names=[s.name for s in specs],
                          output_names=output_names, dynamic_shapes=dynamic,
                          external_data=True, verbose=False)


def _export_torchscript(loaded, specs, feeds, path, opset, output_names) -> None:
    import torch

    dynamic_axes = {s.name: {0: "batch"} for s in specs if s.dynamic_batch}
    if dynamic_axes:
        dynamic_axes.update({name: {0: "batch"} for name in output_names})
    with _quiet():
        torch.onnx.export(loaded.module, _trace_args(specs, feeds), str(path), dynamo=False,
                          opset_version=min(opset, 20), input_names=[s.name for s in specs],
                          output_names=output_names, dynamic_axes=dynamic_axes or None,
                          do_constant_folding=True)


_EXPORT = {"dynamo": _export_dynamo, "torchscript": _export_torchscript}


def normalize_onnx(source: Path, path: Path) -> Path:
    """Re-save a user's ONNX as ``path`` (+ ``.data`` when large) so every later step sees one layout."""
    import onnx

    try:
        model = onnx.load(str(source))
    except Exception as exc:
        raise UsageError(f"cannot read ONNX file {source}: {str(exc).splitlines()[0]}") from exc
    large = model.ByteSize() > 1 << 30
    onnx.save(model, str(path), save_as_external_data=large, location=f"{path.name}.data" if large else None)
    return path


def written_opset(path: Path) -> int:
    model = load_onnx_graph(path)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
