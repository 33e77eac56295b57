"""MODEL argument and --input values → a loaded model and its input specs.

MODEL forms: ``path/file.py:callable``, ``package.module:callable`` (a function returning an
``nn.Module`` or an ``nn.Module`` class), TorchScript ``.pt``, ExportedProgram ``.pt2``, ``.onnx``.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.errors import InputSpecError, ModelLoadError, UsageError

DTYPES = ("float32", "float16", "int64", "int32", "bool")
DYNAMIC_TOKENS = ("N", "batch")


@dataclass(frozen=True)
class InputSpec:
    """One model input: name, shape (None = dynamic batch axis) and numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    @property
    def dynamic_batch(self) -> bool:
        return bool(self.shape) and self.shape[0] is None

    def concrete_shape(self, batch: int) -> tuple[int, ...]:
        return tuple(batch if d is None else d for d in self.shape)

    def shape_text(self) -> str:
        return "x".join("N" if d is None else str(d) for d in self.shape)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [d if d is not None else "N" for d in self.shape],
                "dtype": self.dtype}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSpec:
        shape = tuple(None if d in ("N", None) else int(d) for d in data["shape"])
        return cls(data["name"], shape, data["dtype"])


def parse_input_spec(text: str) -> InputSpec:
    """Parse ``NAME:SHAPE[:DTYPE]``, e.g. ``image:Nx3x224x224`` or ``tokens:Nx32:int64``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InputSpecError(f"bad --input {text!r}: expected NAME:SHAPE[:DTYPE], "
                             "e.g. image:Nx3x224x224 or tokens:Nx32:int64")
    name, shape_text = parts[0], parts[1]
    dtype = parts[2] if len(parts) == 3 else "float32"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        raise InputSpecError(f"bad --input {text!r}: the name {name!r} must be an identifier")
    if dtype not in DTYPES:
        raise InputSpecError(f"bad --input {text!r}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    dims: list[int | None] = []
    for i, token in enumerate(shape_text.split("x")):
        if token in DYNAMIC_TOKENS:
            if i != 0:
                raise InputSpecError(f"bad --input {text!r}: only the leading (batch) axis can be "
                                     f"dynamic, got {token!r} at axis {i}")
            dims.append(None)
        elif token.isdigit() and int(token) > 0:
            dims.append(int(token))
        else:
            raise InputSpecError(f"bad --input {text!r}: {token!r} is not a positive size, N or batch")
    return InputSpec(name, tuple(dims), dtype)


@dataclass
class LoadedModel:
    """What MODEL named: a torch module (``module``) or an ONNX file (``onnx_path``)."""

    source: str
    kind: str  # "callable" | "torchscript" | "exported_program" | "onnx"
    module: Any = None
    exported_program: Any = None
    onnx_path: Path | None = None
    forward_params: list[str] = field(default_factory=list)


def load_model(source: str) -> LoadedModel:
    """Load MODEL, put a torch model in eval mode, and remember forward()'s parameter names."""
    path_part = source.rsplit(":", 1)[0] if _has_callable(source) else source
    suffix = Path(path_part).suffix.lower()
    if suffix == ".onnx" and not _has_callable(source):
        path = _existing_file(source)
        return LoadedModel(source, "onnx", onnx_path=path)
    if suffix in (".pt", ".pth") and not _has_callable(source):
        return _load_torchscript(source)
    if suffix == ".pt2" and not _has_callable(source):
        return _load_exported_program(source)
    if not _has_callable(source):
        raise UsageError(f"cannot read MODEL {source!r}: expected file.py:callable, "
                         "package.module:callable, a .pt, .pt2 or .onnx file")
    target, attr = source.rsplit(":", 1)
    module = _import_target(target)
    if not hasattr(module, attr):
        raise ModelLoadError(f"{target} has no callable named {attr!r}",
                             hint=f"defined there: {', '.join(_public_callables(module)) or 'nothing callable'}")
    factory = getattr(module, attr)
    if not callable(factory):
        raise ModelLoadError(f"{source}: {attr!r} is not callable")
    try:
        model = factory()
    except Exception as exc:  # user code: any failure is the user's to see
        raise ModelLoadError(f"calling {source}() raised {type(exc).__name__}: {exc}") from exc
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ModelLoadError(f"{source}() returned {type(model).__name__}, not a torch.nn.Module")
    model.eval()
    return LoadedModel(source, "callable", module=model, forward_params=forward_parameter_names(model))


def forward_parameter_names(model: Any) -> list[str]:
    """Names of forward()'s positional parameters (no *args/**kwargs)."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds]


def _has_callable(source: str) -> bool:
    head, sep, tail = source.rpartition(":")
    return bool(sep and head and tail and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tail))


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise UsageError(f"model file not found: {text}")
    return path


def _import_target(target: str) -> Any:
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = _existing_file(target).resolve()
        name = f"_torch2tf_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ModelLoadError(f"cannot import {target}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))
        try:
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ModelLoadError(f"importing {target} raised {type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.remove(str(path.parent))
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ModelLoadError(f"cannot import module {target!r}: {exc}",
                             hint="is its package on PYTHONPATH or installed?") from exc
    except Exception as exc:
        raise ModelLoadError(f"importing {target} raised {type(exc).__name__}: {exc}") from exc


def _public_callables(module: Any) -> list[str]:
    return sorted(n for n, v in vars(module).items()
                  if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)


def _load_torchscript(source: str) -> LoadedModel:
    path = _existing_file(source)
    import torch

    try:
        model = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise ModelLoadError(f"{source} is not a TorchScript file: {exc}".splitlines()[0]) from exc
    model.eval()
    return LoadedModel(source, "torchscript", module=model, forward_params=_torchscript_params(model))


def _torchscript_params(model: Any) -> list[str]:
    try:
        args = model.forward.schema.arguments
    except AttributeError:
        return []
    return [a.name for a in args if a.name != "self"]


def _load_exported_program(source: str) -> LoadedModel:
    path = _existing_file(source)
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(f"{source} is not an ExportedProgram file: {exc}".splitlines()[0]) from exc
    module = program.module()
    names = [spec.arg.name for spec in program.graph_signature.input_specs
             if spec.kind.name == "USER_INPUT"]
    return LoadedModel(source, "exported_program", module=module, exported_program=program,
                       forward_params=names)


def resolve_input_specs(loaded: LoadedModel, cli_specs: list[InputSpec],
                        arrays: dict[str, Any] | None) -> list[InputSpec]:
    """Decide the model's inputs from --input, --input-data arrays, forward() or the ONNX graph.

    --input names win over forward()'s parameter names (matched by position); arrays from an
    .npz must then agree with them in name, rank and dtype.
    """
    names = [s.name for s in cli_specs]
    if len(set(names)) != len(names):
        raise InputSpecError(f"--input names must be unique, got {', '.join(names)}")
    if loaded.kind == "onnx":
        specs = _merge_onnx_specs(loaded, cli_specs)
    elif cli_specs:
        specs = list(cli_specs)
    elif arrays:
        specs = _specs_from_arrays(arrays, loaded.forward_params)
    else:
        hint = ", ".join(loaded.forward_params) or "the model's inputs"
        raise InputSpecError("a PyTorch model needs --input NAME:SHAPE[:DTYPE] (or --input-data FILE.npz)",
                             hint=f"forward() takes: {hint}")
    if loaded.kind != "onnx" and loaded.forward_params and len(specs) > len(loaded.forward_params):
        raise InputSpecError(f"{len(specs)} inputs given but forward() takes "
                             f"{len(loaded.forward_params)}: {', '.join(loaded.forward_params)}")
    if arrays:
        check_arrays_match(specs, arrays)
    return specs


def check_arrays_match(specs: list[InputSpec], arrays: dict[str, Any]) -> None:
    """Raise InputSpecError naming the first array whose name, shape or dtype does not fit."""
    expected = {s.name for s in specs}
    unknown = sorted(set(arrays) - expected)
    missing = sorted(expected - set(arrays))
    if unknown or missing:
        raise InputSpecError(f"--input-data arrays do not match the model inputs: "
                             f"missing {missing or 'none'}, unexpected {unknown or 'none'}")
    for spec in specs:
        array = arrays[spec.name]
        if str(array.dtype) != spec.dtype:
            raise InputSpecError(f"dtype mismatch for input {spec.name!r}: the data is {array.dtype}, "
                                 f"the input is {spec.dtype}")
        fixed = [d for d in spec.shape[1:]]
        if array.ndim != len(spec.shape) or list(array.shape[1:]) != fixed or (
                spec.shape[0] is not None and array.shape[0] != spec.shape[0]):
            raise InputSpecError(f"shape mismatch for input {spec.name!r}: the data is "
                                 f"{'x'.join(map(str, array.shape))}, the input is {spec.shape_text()}")


def _specs_from_arrays(arrays: dict[str, Any], forward_params: list[str]) -> list[InputSpec]:
    names = list(arrays)
    if forward_params and set(names) <= set(forward_params):
        names = [p for p in forward_params if p in arrays]
    specs = []
    for name in names:
        array = arrays[name]
        if str(array.dtype) not in DTYPES:
            raise InputSpecError(f"--input-data array {name!r} has dtype {array.dtype}; "
                                 f"supported: {', '.join(DTYPES)}")
        if array.ndim == 0:
            raise InputSpecError(f"--input-data array {name!r} is a scalar; inputs need a batch axis")
        specs.append(InputSpec(name, (None, *array.shape[1:]), str(array.dtype)))
    return specs


def _merge_onnx_specs(loaded: LoadedModel, cli_specs: list[InputSpec]) -> list[InputSpec]:
    from torch2tf.convert.onnx_checks import onnx_input_specs

    graph_specs = onnx_input_specs(loaded.onnx_path)
    by_name = {s.name: s for s in cli_specs}
    unknown = sorted(set(by_name) - {s.name for s in graph_specs})
    if unknown:
        raise InputSpecError(f"--input names {unknown} are not inputs of {loaded.source}; "
                             f"its inputs are {', '.join(s.name for s in graph_specs)}")
    specs = []
    for graph_spec in graph_specs:
        spec = by_name.get(graph_spec.name, graph_spec)
        if spec.dtype != graph_spec.dtype:
            raise InputSpecError(f"dtype mismatch for input {spec.name!r}: --input says {spec.dtype}, "
                                 f"the ONNX model takes {graph_spec.dtype}")
        if any(d is None for d in spec.shape[1:]):
            raise InputSpecError(f"input {spec.name!r} of {loaded.source} has a dynamic axis other than "
                                 f"the batch ({spec.shape_text()})",
                                 hint=f"fix it with --input {spec.name}:Nx...:{spec.dtype}")
        specs.append(spec)
    return specs
