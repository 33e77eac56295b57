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
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torch2tf.artifacts import read_manifest
from torch2tf.errors import UsageError
from torch2tf.model_source import model_label
from torch2tf.perf.bench import BenchOptions, run_bench
from torch2tf.pipeline.convert import run_check, run_convert
from torch2tf.pipeline.options import DEFAULT_OPSET, ConvertOptions, QuantizeOptions
from torch2tf.pipeline.revalidate import revalidate
from torch2tf.records import Benchmark, ParityEntry, Report
from torch2tf.serve.repository import PackageOptions
from torch2tf.serve.repository import package as publish
from torch2tf.specs import Layouts, TensorSpec, parse_input_spec
from torch2tf.validation.directory import ValidateOptions
from torch2tf.validation.markdown import parity_table, summary_line

Inputs = Mapping[str, Any] | list[str] | list[TensorSpec] | tuple | None


@dataclass(frozen=True)
class ConversionResult:
    """What ``convert`` produced: the verdict, every artifact's path and the report."""

    output: Path
    report: Report

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def parity(self) -> tuple[ParityEntry, ...]:
        return self.report.parity

    @property
    def saved_model(self) -> Path:
        return self.output / "saved_model"

    @property
    def onnx(self) -> Path:
        return self.output / "model.onnx"

    @property
    def tflite(self) -> dict[str, Path]:
        """Target (``tflite_float32``, ``tflite_float16``, quantized ones) → its .tflite file."""

        variants = read_manifest(self.output).tflite.all_variants()
        return {target: self.output / variant.path for target, variant in variants.items()}

    @property
    def report_path(self) -> Path:
        return self.output / "report.md"

    def __repr__(self) -> str:
        return f"ConversionResult({'passed' if self.passed else 'FAILED'}, output={str(self.output)!r})"

    def _repr_markdown_(self) -> str:
        """How a notebook shows it: the verdict line and the parity table."""

        return "\n".join([summary_line(self.report), "", *parity_table(self.report)[2:],
                          "", f"Report: `{self.report_path}`"])


def convert(model: Any, inputs: Inputs = None, output_dir: str | Path | None = None, *,
            args: Mapping[str, Any] | None = None, dynamic_batch: bool = True, force: bool = False,
            quantize: list[str] | None = None, calibration: str | None = None, tolerances: list[str] = (),
            strict: bool = False, layout: str = "nchw", tflite_layout: str = "nhwc", seed: int = 0,
            opset: int | None = None, cache_dir: str | Path | None = None, localize: bool = True,
            on_progress: Callable[[str], None] | None = None) -> ConversionResult:
    """Convert ``model`` to ONNX, a SavedModel and TFLite files, each checked against onnxruntime.

    ``inputs``: a dict of name → example tensor (its shape and dtype; axis 0 dynamic unless
    ``dynamic_batch=False``; the tensors also become a validation sample), or specs in the CLI's syntax
    (``["image:Nx3x224x224"]``), or None to read them off forward()'s annotations or the ONNX graph.
    ``args``: constants for forward() parameters that are not tensors (``{"return_features": True}``).
    ``output_dir``: where the artifacts go (None: a new temporary directory, kept).
    """

    specs, arrays = _inputs(inputs, dynamic_batch)
    output = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="torch2tf-"))
    with _model_source(model) as source:
        options = ConvertOptions(model=source, label=_label(model), output=output, inputs=specs,
                                 input_arrays=arrays, force=force, opset=opset or DEFAULT_OPSET,
                                 layouts=Layouts(layout, tflite_layout), seed=seed,
                                 tolerances=list(tolerances), localize=localize, strict=strict,
                                 quantize=QuantizeOptions(list(quantize), calibration) if quantize else None,
                                 cache_dir=Path(cache_dir) if cache_dir else None, args=dict(args or {}))
        outcome = run_convert(options, on_event=_progress(on_progress))
    return ConversionResult(outcome.output, outcome.report)


def check(model: Any, inputs: Inputs = None, *, args: Mapping[str, Any] | None = None, dynamic_batch: bool = True,
          builtins_only: bool = False):
    """Operator compatibility of ``model`` before any conversion (``torch2tf check``): a Compatibility."""

    specs, arrays = _inputs(inputs, dynamic_batch)
    with _model_source(model) as source:
        return run_check(ConvertOptions(model=source, output=Path("."), inputs=specs, input_arrays=arrays,
                                        tflite_builtins_only=builtins_only, args=dict(args or {})))


def validate(directory: str | Path, *, samples: int = 2, tolerances: list[str] = (), baseline: str | Path | None = None,
             strict: bool = False, localize: bool = True) -> Report:
    """Parity of a convert output re-run (``torch2tf validate``); its report.json and report.md rewritten."""

    return revalidate(ValidateOptions(directory=Path(directory), samples=samples, tolerances=list(tolerances),
                                      baseline=Path(baseline) if baseline else None, strict=strict,
                                      localize=localize))


def package(directory: str | Path, name: str, repo: str | Path, *, version: int | None = None,
            force: bool = False, kubernetes: bool = False) -> Path:
    """Publish a convert output's SavedModel as REPO/NAME/VERSION (``torch2tf package``); that directory."""

    return publish(PackageOptions(source=Path(directory), name=name, repo=Path(repo), version=version, force=force,
                                  kubernetes=kubernetes))


def bench(directory: str | Path, *, threads: int = 2, batches: tuple[int, ...] = (1,), rounds: int = 20) -> Benchmark:
    """Latency, throughput and size of every artifact side by side (``torch2tf bench``)."""

    return run_bench(BenchOptions(directory=Path(directory), threads=threads, batches=tuple(batches), rounds=rounds))


def _inputs(inputs: Inputs, dynamic_batch: bool) -> tuple[list[TensorSpec], dict[str, np.ndarray] | None]:
    """Specs (and example arrays) from what the caller gave."""
    if inputs is None:
        return [], None
    if isinstance(inputs, Mapping):
        arrays = {name: _array(name, value) for name, value in inputs.items()}
        specs = [TensorSpec(name, ((None,) if dynamic_batch and a.ndim else ()) + tuple(a.shape[1:] if dynamic_batch
                                                                                         else a.shape), str(a.dtype))
                 for name, a in arrays.items()]
        return specs, arrays
    if isinstance(inputs, (list, tuple)):
        return [i if isinstance(i, TensorSpec) else parse_input_spec(str(i)) for i in inputs], None
    raise UsageError(f"inputs: a dict of name → tensor, or specs like 'image:Nx3x224x224', not {type(inputs).__name__}")


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
def _model_source(model: Any) -> Iterator[Any]:
    """What the pipeline loads: the object itself, or an ONNX ModelProto saved to a temporary file."""
    if isinstance(model, Path):
        yield str(model)
        return
    if type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx"):
        import onnx

        with tempfile.TemporaryDirectory(prefix="torch2tf-api-") as tmp:
            path = Path(tmp) / "model.onnx"
            onnx.save(model, str(path), save_as_external_data=model.ByteSize() > (1 << 30))
            yield str(path)
        return
    training = getattr(model, "training", None)
    try:
        yield model
    finally:
        if training:  # the pipeline put a module in eval mode; give the caller back the one they had
            model.train(training)


def _label(model: Any) -> str:
    """What the report calls an object given in memory (a path or MODEL string is its own name)."""
    return "" if isinstance(model, (str, Path)) else model_label(model)


def _progress(on_progress: Callable[[str], None] | None):
    if on_progress is None:
        return None

    def on_event(event) -> None:
        if event.status in ("ok", "failed", "info"):
            on_progress(f"[{event.stage}] {event.status if event.status != 'info' else ''} {event.detail}".strip())
    return on_event
