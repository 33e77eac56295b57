"""The Python API: what a researcher calls from a notebook, the same code paths the CLI takes.

    import torch2tf
    result = torch2tf.convert(model, {"image": torch.randn(2, 3, 224, 224)}, "out/")
    result.passed, result.saved_model, result.tflite["tflite_float32"]

``model`` is an ``nn.Module`` object, a callable returning one, an ``ExportedProgram``, an
``onnx.ModelProto`` or any MODEL string the CLI takes. Failures raise the typed errors of
``torch2tf.errors``; a parity failure does not raise: ``result.passed`` is False and the report says
where. ``check``, ``validate``, ``package`` and ``bench`` are the other commands, likewise.
"""
from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from torch2tf.errors import UsageError
from torch2tf.model_source import model_label
from torch2tf.perf.bench import BenchOptions, run_bench
from torch2tf.pipeline.convert import ConversionResult, run_check, run_convert
from torch2tf.pipeline.options import DEFAULT_OPSET, ConvertOptions, QuantizeOptions, StageEvent
from torch2tf.pipeline.revalidate import revalidate
from torch2tf.records import Benchmark, Report
from torch2tf.serve.repository import PackageOptions
from torch2tf.serve.repository import package as publish
from torch2tf.specs import Layouts, TensorSpec, parse_input_spec
from torch2tf.validation.directory import ValidateOptions

Inputs = Mapping[str, Any] | list[str] | list[TensorSpec] | tuple | None


def convert(model: Any, inputs: Inputs = None, output_dir: str | Path | None = None, *,
            args: Mapping[str, Any] | None = None, dynamic_batch: bool = True,
            dynamic: Mapping[str, Mapping[int, str]] | None = None, force: bool = False,
            quantize: list[str] | None = None, calibration: str | None = None, tolerances: list[str] = (),
            strict: bool = False, layout: str = "nchw", tflite_layout: str = "nhwc", seed: int = 0,
            opset: int | None = None, cache_dir: str | Path | None = None, localize: bool = True,
            on_progress: Callable[[str], None] | None = None) -> ConversionResult:
    """Convert ``model`` to ONNX, a SavedModel and TFLite files, each checked against onnxruntime.

    ``inputs``: a dict of name → example tensor (its shape and dtype; axis 0 dynamic unless
    ``dynamic_batch=False``; the tensors also become a validation sample), or specs in the CLI's syntax
    (``["image:Nx3x224x224"]``, ``["input_ids:Nx{seq=1..512}:int64"]``), or None to read them off
    forward()'s annotations or the ONNX graph. ``dynamic``: other dynamic axes of the example tensors, by
    name, in the specs' syntax: ``{"input_ids": {1: "seq=1..512"}, "attention_mask": {1: "seq"}}``.
    ``args``: constants for forward() parameters that are not tensors (``{"return_features": True}``).
    ``output_dir``: where the artifacts go (None: a new temporary directory, kept).
    """

    specs, arrays = _inputs(inputs, dynamic_batch, dynamic)
    output = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="torch2tf-"))
    with _model_source(model) as (source, label):
        options = ConvertOptions(model=source, label=label, output=output, inputs=specs,
                                 input_arrays=arrays, force=force, opset=opset or DEFAULT_OPSET,
                                 layouts=Layouts(layout, tflite_layout), seed=seed,
                                 tolerances=list(tolerances), localize=localize, strict=strict,
                                 quantize=QuantizeOptions(list(quantize), calibration) if quantize else None,
                                 cache_dir=Path(cache_dir) if cache_dir else None, args=dict(args or {}))
        return run_convert(options, on_event=_progress(on_progress))


def check(model: Any, inputs: Inputs = None, *, args: Mapping[str, Any] | None = None, dynamic_batch: bool = True,
          dynamic: Mapping[str, Mapping[int, str]] | None = None, builtins_only: bool = False):
    """Operator compatibility of ``model`` before any conversion (``torch2tf check``): a Compatibility."""

    specs, arrays = _inputs(inputs, dynamic_batch, dynamic)
    with _model_source(model) as (source, label):
        return run_check(ConvertOptions(model=source, label=label, output=Path("."), inputs=specs, input_arrays=arrays,
                                        tflite_builtins_only=builtins_only, args=dict(args or {})))


def validate(directory: str | Path, *, samples: int = 2, tolerances: list[str] = (), baseline: str | Path | None = None,
             strict: bool = False, localize: bool = True) -> Report:
    """Parity of a convert output re-run (``torch2tf validate``); its report.json and report.md rewritten."""

    return revalidate(ValidateOptions(directory=Path(directory), samples=samples, tolerances=list(tolerances),
                                      baseline=Path(baseline) if baseline else None, strict=strict,
                                      localize=localize))


def package(directory: str | Path, name: str, repo: str | Path, *, version: int | None = None,
            force: bool = False, kubernetes: bool = False, new_version: bool = False) -> Path:
    """Publish a convert output's SavedModel as REPO/NAME/VERSION (``torch2tf package``); that directory
    (the latest version's, when it already held this SavedModel and nothing was published)."""

    return publish(PackageOptions(source=Path(directory), name=name, repo=Path(repo), version=version, force=force,
                                  kubernetes=kubernetes, new_version=new_version)).version_dir


def bench(directory: str | Path, *, threads: int = 2, batches: tuple[int, ...] = (1,), rounds: int = 20) -> Benchmark:
    """Latency, throughput and size of every artifact side by side (``torch2tf bench``)."""

    return run_bench(BenchOptions(directory=Path(directory), threads=threads, batches=tuple(batches), rounds=rounds))


def _inputs(inputs: Inputs, dynamic_batch: bool, dynamic: Mapping[str, Mapping[int, str]] | None = None
            ) -> tuple[list[TensorSpec], dict[str, np.ndarray] | None]:
    """Specs (and example arrays) from what the caller gave."""
    if inputs is None:
        return [], None
    unknown = sorted(set(dynamic or {}) - (set(inputs) if isinstance(inputs, Mapping) else set()))
    if unknown:
        raise UsageError(f"dynamic= names {', '.join(unknown)}, which are not example tensors of inputs=")
    if isinstance(inputs, Mapping):
        arrays = {name: _array(name, value) for name, value in inputs.items()}
        return [_spec(name, array, dynamic_batch, (dynamic or {}).get(name, {})) for name, array in arrays.items()], \
            arrays
    if isinstance(inputs, (list, tuple)):
        return [i if isinstance(i, TensorSpec) else parse_input_spec(str(i)) for i in inputs], None
    raise UsageError(f"inputs: a dict of name → tensor, or specs like 'image:Nx3x224x224', not {type(inputs).__name__}")


def _spec(name: str, array: np.ndarray, dynamic_batch: bool, axes: Mapping[int, str]) -> TensorSpec:
    """An example tensor's spec: its shape, with axis 0 dynamic when asked and ``axes`` named (``{1: "seq"}``),
    written in the CLI's syntax and read by its one parser."""
    tokens = [str(d) for d in array.shape]
    if dynamic_batch and tokens:
        tokens[0] = "N"
    for axis, dim in axes.items():
        if not isinstance(axis, int) or not 0 < axis < len(tokens):
            raise UsageError(f"dynamic={{{name!r}: {{{axis!r}: …}}}}: axis must be 1..{len(tokens) - 1} (0 is the batch)")
        tokens[axis] = "{" + str(dim).strip("{}") + "}"
    return parse_input_spec(f"{name}:{'x'.join(tokens)}:{array.dtype}")


def _array(name: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)  # what a float tensor means to the exporters
    if array.dtype.kind not in "fiub":
        raise UsageError(f"input {name!r}: a tensor of numbers is needed, not {array.dtype}")
    return array


@contextlib.contextmanager
def _model_source(model: Any) -> Iterator[tuple[Any, str]]:
    """What the pipeline loads and, when it is not the caller's own object or string, what the report
    calls it: an ONNX ModelProto is saved to a temporary file for the run."""
    if isinstance(model, Path):
        yield str(model), ""
        return
    onnx = sys.modules.get("onnx")  # a ModelProto exists only once onnx is imported
    if onnx is not None and isinstance(model, onnx.ModelProto):
        with tempfile.TemporaryDirectory(prefix="torch2tf-api-") as tmp:
            path = Path(tmp) / "model.onnx"
            onnx.save(model, str(path), save_as_external_data=model.ByteSize() > (1 << 30))
            yield str(path), model_label(model)
        return
    training = getattr(model, "training", None)
    try:
        yield model, ""
    finally:
        if training:  # the pipeline put a module in eval mode; give the caller back the one they had
            model.train(training)


def _progress(on_progress: Callable[[str], None] | None) -> Callable[[StageEvent], None] | None:
    """``on_progress`` fed the CLI's progress lines."""
    return None if on_progress is None else (lambda event: on_progress(event.line()))
