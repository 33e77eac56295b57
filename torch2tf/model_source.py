"""MODEL → a loaded model: a torch module (in eval mode) or an ONNX file; running its forward().

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

import numpy as np

from torch2tf.errors import ModelLoadError, ModelRunError, UsageError


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
        return LoadedModel(source, "onnx", onnx_path=_existing_file(source))
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
        return _import_file(_existing_file(target).resolve(), target)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ModelLoadError(f"cannot import module {target!r}: {exc}",
                             hint="is its package on PYTHONPATH or installed?") from exc
    except Exception as exc:
        raise ModelLoadError(f"importing {target} raised {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path, target: str) -> Any:
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
    try:
        params = [a.name for a in model.forward.schema.arguments if a.name != "self"]
    except AttributeError:
        params = []
    return LoadedModel(source, "torchscript", module=model, forward_params=params)


def _load_exported_program(source: str) -> LoadedModel:
    path = _existing_file(source)
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(f"{source} is not an ExportedProgram file: {exc}".splitlines()[0]) from exc
    names = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    return LoadedModel(source, "exported_program", module=program.module(), exported_program=program,
                       forward_params=names)


# -- running forward() ------------------------------------------------------------------------------

@dataclass
class ForwardResult:
    """forward()'s outputs as numpy arrays, and names for them taken from the result's structure."""

    values: list[np.ndarray]
    names: list[str]


def run_forward(module: Any, feeds: dict[str, np.ndarray]) -> ForwardResult:
    """Run the torch model on numpy feeds; raise ModelRunError naming the shapes on failure."""
    import torch

    args = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in feeds.values())
    try:
        with torch.no_grad():
            result = module(*args)
    except Exception as exc:
        shapes = ", ".join(f"{n}={'x'.join(map(str, a.shape))}:{a.dtype}" for n, a in feeds.items())
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelRunError(f"forward() raised {type(exc).__name__} on inputs {shapes}: {message}",
                            hint="check --input shapes and dtypes") from exc
    tensors = _flatten(result)
    return ForwardResult([t.detach().cpu().numpy() for t in tensors], _output_names(result, len(tensors)))


def _flatten(result: Any) -> list[Any]:
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        return [t for v in result.values() for t in _flatten(v)]
    if isinstance(result, (list, tuple)):
        return [t for v in result for t in _flatten(v)]
    raise ModelRunError(f"forward() returned {type(result).__name__}; torch2tf needs tensors, "
                        "or tuples/lists/dicts of tensors")


def _output_names(result: Any, count: int) -> list[str]:
    """Dict keys or namedtuple fields when forward() returns those; else output, output_0, ..."""
    import torch

    if isinstance(result, dict) and all(isinstance(v, torch.Tensor) for v in result.values()):
        return [str(k) for k in result]
    if isinstance(result, tuple) and hasattr(result, "_fields") and len(result._fields) == count:
        return list(result._fields)
    if count == 1:
        return ["output"]
    return [f"output_{i}" for i in range(count)]
