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
from typing import Any

import numpy as np

from torch2tf.binding import ForwardCall
from torch2tf.conversion.input_dims import set_input_dims
from torch2tf.errors import ExportError, UsageError
from torch2tf.model_source import LoadedModel, named_outputs
from torch2tf.native_logs import silenced_fds
from torch2tf.records import ExportAttempt
from torch2tf.specs import BATCH, TensorSpec, load_onnx_graph, shared_dims

EXPORTERS = ("dynamo", "torchscript")
# torch.export specializes a dynamic axis whose example size is 1: trace with 2.
TRACE_BATCH = 2
MAX_BATCH = 4096
REASON_CHARS = 120  # per exporter in the one-line error; the full reasons go to the error's details


@dataclass
class ExportRequest:
    """What to export: the model, its inputs and how they reach forward(), one sample, where, at which opset."""

    loaded: LoadedModel
    specs: list[TensorSpec]
    binding: ForwardCall
    feeds: dict[str, np.ndarray]
    path: Path
    opset: int
    output_names: list[str]


@dataclass
class ExportResult:
    path: Path
    exporter: str
    attempts: tuple[ExportAttempt, ...]  # every exporter tried, with why it failed


def export_onnx(request: ExportRequest, exporters: tuple[str, ...] = EXPORTERS) -> ExportResult:
    """Export with each exporter in turn; the first that writes a valid file wins."""
    attempts: list[ExportAttempt] = []
    path = request.path
    for exporter in exporters:
        for stale in (path, path.with_name(path.name + ".data")):
            stale.unlink(missing_ok=True)
        try:
            _EXPORT[exporter](request)
        except Exception as exc:  # every exporter failure is recorded; the next one is tried
            attempts.append(ExportAttempt(exporter, "failed", _reason(exc)))
            continue
        attempts.append(ExportAttempt(exporter, "ok"))
        return ExportResult(path, exporter, tuple(attempts))
    details = [f"{a.exporter}: {a.reason}" for a in attempts]
    short = "; ".join(f"{a.exporter}: {a.reason[:REASON_CHARS]}" for a in attempts)
    ops = unexportable_ops(" ".join(details))
    if ops:
        raise ExportError(f"PyTorch operator(s) with no ONNX export: {', '.join(ops)} ({short})",
                          hint="replace them with exportable operations, or try another --opset", details=details)
    raise ExportError(f"torch.onnx.export failed with every exporter ({short})",
                      hint="try another --opset, or check the operator with `torch2tf check`", details=details)


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


def _trace_tensors(request: ExportRequest) -> dict[str, Any]:
    """The sample as tensors, a dynamic batch traced at TRACE_BATCH rows (torch.export specializes 1)."""
    import torch

    tensors = {}
    for spec in request.specs:
        array = request.feeds[spec.name]
        if spec.dynamic_batch and array.shape[0] < TRACE_BATCH:
            array = np.concatenate([array] * TRACE_BATCH, axis=0)[:TRACE_BATCH]
        tensors[spec.name] = torch.from_numpy(np.ascontiguousarray(array))
    return tensors


@contextlib.contextmanager
def _views_that_copy_when_needed():
    """torch 2.13's ONNX decompositions can turn a traced reshape into a view of a non-contiguous tensor.

    torch.export records ``reshape`` after attention as ``view`` when the fused attention's fake output
    strides allow it; once the ONNX decompositions spell attention out, that tensor is transposed and
    the view fails ("Cannot view a tensor with shape … and strides …"; T5, Swin, BEiT). Where a view's
    input is not contiguous, the decomposition here copies it first, which is what eager ``reshape``
    does; a view of a contiguous tensor stays a plain view. Private torch API, pinned torch version.
    """
    import torch
    from torch.onnx._internal.exporter import _decomp

    original = _decomp.create_onnx_friendly_decomposition_table

    def view(x, size):
        if x.is_contiguous():
            return NotImplemented
        return torch.ops.aten.clone.default(x, memory_format=torch.contiguous_format).view(size)

    def table(*args, **kwargs):
        return {**original(*args, **kwargs), torch.ops.aten.view.default: view}

    _decomp.create_onnx_friendly_decomposition_table = table
    try:
        yield
    finally:
        _decomp.create_onnx_friendly_decomposition_table = original


def _export_dynamo(request: ExportRequest) -> None:
    import torch

    loaded, path = request.loaded, str(request.path)
    with _quiet(), _views_that_copy_when_needed():
        if loaded.exported_program is not None:
            torch.onnx.export(loaded.exported_program, (), path, dynamo=True, opset_version=request.opset,
                              input_names=[s.name for s in request.specs], output_names=request.output_names,
                              external_data=True, verbose=False)
            return
        binding = request.binding
        args, kwargs = binding.split(_trace_tensors(request))
        dynamic = binding.dynamic_shapes(_torch_dims(request.specs))
        dynamic.update({name: None for name in binding.fixed})
        # Graph inputs come out in the order args and kwargs flatten: name them in that order.
        torch.onnx.export(loaded.module, args, path, kwargs=kwargs, dynamo=True, opset_version=request.opset,
                          input_names=binding.order, output_names=request.output_names, dynamic_shapes=dynamic,
                          external_data=True, verbose=False)


def _torch_dims(specs: list[TensorSpec]) -> dict[str, dict[int, Any] | None]:
    """torch.export's dynamic shapes per input: one ``Dim`` per name, shared by the inputs naming it."""
    import torch

    dims = {BATCH: torch.export.Dim(BATCH, min=1, max=MAX_BATCH)}
    dims.update({name: torch.export.Dim(name, min=dim.low, max=dim.high) if dim.high else
                 torch.export.Dim(name, min=dim.low) for name, dim in shared_dims(specs).items()})
    per_input = {}
    for spec in specs:
        axes = {i: dims[spec.dim(i).name if spec.dim(i) else BATCH] for i, d in enumerate(spec.shape) if d is None}
        per_input[spec.name] = axes or None
    return per_input


def _export_torchscript(request: ExportRequest) -> None:
    import torch

    specs, names = request.specs, request.output_names
    dynamic_axes = {s.name: {i: s.dim(i).name if s.dim(i) else BATCH for i, d in enumerate(s.shape) if d is None}
                    for s in specs if None in s.shape}
    if any(s.dynamic_batch for s in specs):
        dynamic_axes.update({name: {0: BATCH} for name in names})
    tensors = _trace_tensors(request)
    module = request.loaded.module
    if request.loaded.kind == "callable":  # a Python module: keyword binding and ModelOutput results
        module = _positional_call(module, request.binding, [s.name for s in specs])
    with _quiet():
        torch.onnx.export(module, tuple(tensors[s.name] for s in specs), str(request.path), dynamo=False,
                          opset_version=min(request.opset, 20), input_names=[s.name for s in specs],
                          output_names=names, dynamic_axes=dynamic_axes or None, do_constant_folding=True)


def _positional_call(module, binding: ForwardCall, names: list[str]):
    """``module`` as the TorchScript tracer wants it: positional tensors in, a flat tuple of tensors out."""
    import torch

    class PositionalCall(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = module

        def forward(self, *tensors):
            args, kwargs = binding.split(dict(zip(names, tensors)))
            return tuple(t for _, t in named_outputs(self.module(*args, **kwargs)))

    return PositionalCall()


_EXPORT = {"dynamo": _export_dynamo, "torchscript": _export_torchscript}


def normalize_onnx(source: Path, path: Path, shapes: dict[str, list[int | None]] | None = None) -> list[str]:
    """Re-save a user's ONNX as ``path`` (+ ``.data`` when large) so every later step sees one layout, its
    inputs' dims as ``shapes`` (the --input specs) fix them; the inputs whose dims were fixed, described."""
    import onnx

    try:
        model = onnx.load(str(source))
    except Exception as exc:
        raise UsageError(f"cannot read ONNX file {source}: {str(exc).splitlines()[0]}") from exc
    fixed = set_input_dims(model, shapes or {})
    large = model.ByteSize() > 1 << 30
    onnx.save(model, str(path), save_as_external_data=large, location=f"{path.name}.data" if large else None)
    return fixed


def written_opset(path: Path) -> int:
    model = load_onnx_graph(path)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
