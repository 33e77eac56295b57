"""MODEL → a loaded model: a torch module (in eval mode) or an ONNX file; running its forward().

MODEL forms: ``path/file.py:callable``, ``package.module:callable`` (a function returning an
``nn.Module`` or an ``nn.Module`` class), TorchScript ``.pt``, ExportedProgram ``.pt2``, ``.onnx``;
from the Python API also the objects themselves: an ``nn.Module``, a callable returning one, an
``ExportedProgram``.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from torch2tf.binding import ForwardCall, ForwardSignature, bind_by_position, bind_inputs
from torch2tf.errors import ModelLoadError, ModelRunError, UsageError


@dataclass
class LoadedModel:
    """What MODEL named: a torch module (``module``) or an ONNX file (``onnx_path``)."""

    source: str
    kind: str  # "callable" | "torchscript" | "exported_program" | "onnx"
    module: Any = None
    exported_program: Any = None
    onnx_path: Path | None = None
    signature: ForwardSignature = field(default_factory=ForwardSignature)

    @property
    def forward_params(self) -> list[str]:
        """forward()'s named positional parameters."""
        return list(self.signature.params)

    def binding(self, names: list[str]) -> ForwardCall:
        """How inputs with these names reach forward(): a Python module by name, a compiled one by position."""
        if self.kind == "callable":
            return bind_inputs(self.signature, names)
        return bind_by_position(self.signature, names)


def model_label(source: Any) -> str:
    """What the report calls MODEL: the string itself, or the object's class (the Python API)."""
    if isinstance(source, str):
        return source
    name = getattr(source, "__qualname__", None) or type(source).__qualname__
    return f"{name} (a Python object, torch2tf.convert)"


def load_model(source: Any) -> LoadedModel:
    """Load MODEL, put a torch model in eval mode, and remember forward()'s parameter names."""
    if not isinstance(source, str):
        return load_object(source)
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
    return _built_module(factory, source)


def _built_module(factory: Any, label: str) -> LoadedModel:
    """``factory()``'s nn.Module, in eval mode; the user's own failures as ModelLoadError."""
    import torch

    try:
        model = factory()
    except SystemExit as exc:  # a sys.exit in user code must not end torch2tf with its exit code
        raise ModelLoadError(f"calling {label}() called sys.exit({exc.code})") from exc
    except Exception as exc:  # user code: any failure is the user's to see
        raise ModelLoadError(f"calling {label}() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise ModelLoadError(f"{label}() returned {type(model).__name__}, not a torch.nn.Module")
    return _module_model(label, model)


def _module_model(label: str, model: Any) -> LoadedModel:
    model.eval()
    return LoadedModel(label, "callable", module=model, signature=ForwardSignature.of(model.forward))


def load_object(obj: Any) -> LoadedModel:
    """An in-memory model (the Python API): a module, an ExportedProgram, or a callable returning a module."""
    import torch

    label = model_label(obj)
    if isinstance(obj, torch.export.ExportedProgram):
        return _exported_program_model(label, obj)
    if isinstance(obj, torch.jit.ScriptModule):
        return _torchscript_model(label, obj)
    if isinstance(obj, torch.nn.Module):
        return _module_model(label, obj)
    if not callable(obj):
        raise UsageError(f"model: an nn.Module, a callable returning one, an ExportedProgram, an ONNX "
                         f"ModelProto or a MODEL string, not {type(obj).__name__}")
    return _built_module(obj, label)


def model_file(source: Any) -> Path | None:
    """The file MODEL names (``file.py`` of ``file.py:build``, a .pt/.pt2/.onnx), if it names one."""
    if not isinstance(source, str):
        return None
    path = Path(source.rsplit(":", 1)[0] if _has_callable(source) else source)
    return path if path.suffix.lower() in (".py", ".pt", ".pth", ".pt2", ".onnx") and path.is_file() else None


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
    except SystemExit as exc:
        raise ModelLoadError(f"importing {target} called sys.exit({exc.code})") from exc
    except Exception as exc:
        raise ModelLoadError(f"importing {target} raised {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path, target: str) -> Any:
    name = f"_torch2tf_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {target}")
    module = importlib.util.module_from_spec(spec)
    root = _package_root(path)
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))  # kept: a builder may import its package's modules when it runs
    sys.path.insert(0, str(path.parent))
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise ModelLoadError(f"importing {target} called sys.exit({exc.code})") from exc
    except Exception as exc:
        raise ModelLoadError(f"importing {target} raised {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent))
    return module


def _package_root(path: Path) -> Path | None:
    """The directory holding the outermost package ``path`` is part of (``tests/corpus/models.py`` in a
    checkout: the checkout, so ``from tests.corpus.weights import …`` resolves), or None outside a package."""
    directory, root = path.parent, None
    while (directory / "__init__.py").is_file():
        root, directory = directory.parent, directory.parent
    return root


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
    return _torchscript_model(source, model)


def _torchscript_model(label: str, model: Any) -> LoadedModel:
    model.eval()
    try:
        params = [a.name for a in model.forward.schema.arguments if a.name != "self"]
    except AttributeError:
        params = []
    return LoadedModel(label, "torchscript", module=model, signature=ForwardSignature(params=tuple(params)))


def _load_exported_program(source: str) -> LoadedModel:
    path = _existing_file(source)
    import torch

    logger = logging.getLogger("torch.export")  # it logs a whole traceback for a file that is not a .pt2
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(f"{source} is not an ExportedProgram file: {exc}".splitlines()[0]) from exc
    finally:
        logger.setLevel(level)
    return _exported_program_model(source, program)


def _exported_program_model(label: str, program: Any) -> LoadedModel:
    names = [spec.arg.name for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    return LoadedModel(label, "exported_program", module=program.module(), exported_program=program,
                       signature=ForwardSignature(params=tuple(names)))


# -- running forward() ------------------------------------------------------------------------------

@dataclass
class ForwardResult:
    """forward()'s tensors as numpy arrays, with names taken from the result's structure."""

    values: list[np.ndarray]
    names: list[str]


def run_forward(module: Any, binding: ForwardCall, feeds: dict[str, np.ndarray]) -> ForwardResult:
    """Run the torch model on numpy feeds; raise ModelRunError naming the shapes on failure."""
    import torch

    args, kwargs = binding.split({n: torch.from_numpy(np.ascontiguousarray(a)) for n, a in feeds.items()})
    try:
        with torch.no_grad():
            result = module(*args, **kwargs)
    except SystemExit as exc:
        raise ModelRunError(f"forward() called sys.exit({exc.code})") from exc
    except Exception as exc:
        shapes = ", ".join(f"{n}={'x'.join(map(str, a.shape))}:{a.dtype}" for n, a in feeds.items())
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelRunError(f"forward() raised {type(exc).__name__} on inputs {shapes}: {message}",
                            hint="check --input names, shapes and dtypes") from exc
    named = named_outputs(result)
    return ForwardResult([t.detach().cpu().numpy() for _, t in named], [n for n, _ in named])


def named_outputs(result: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """forward()'s result flattened as exporters flatten it, None entries dropped.

    Names: dict keys (a ModelOutput is one) and namedtuple fields, ``_i`` for sequence items, and
    ``output`` / ``output_i`` at the top level.
    """
    import torch

    if isinstance(result, torch.Tensor):
        return [(prefix or "output", result)]
    if result is None:
        return []
    if isinstance(result, dict):
        return [item for key, value in result.items() for item in named_outputs(value, _join(prefix, str(key)))]
    if isinstance(result, tuple) and hasattr(result, "_fields"):
        return [item for key, value in zip(result._fields, result) for item in named_outputs(value, _join(prefix, key))]
    if isinstance(result, (list, tuple)):
        present = [v for v in result if v is not None]
        if len(present) == 1 and isinstance(present[0], torch.Tensor):
            return named_outputs(present[0], prefix)
        return [item for i, value in enumerate(result) for item in named_outputs(value, _join(prefix or "output", str(i)))]
    raise ModelRunError(f"forward() returned {type(result).__name__}; torch2tf needs tensors, "
                        "or tuples/lists/dicts of tensors")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}_{name}" if prefix else name
