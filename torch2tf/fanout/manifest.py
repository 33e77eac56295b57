"""The manifest of ``convert-many``: one entry per model with its MODEL, inputs and convert options.

TOML::

    [defaults]                 # options every model gets unless it sets them itself
    tolerance = ["fp16:atol=0.05"]

    [[models]]
    name = "resnet"            # OUTDIR/resnet; default: derived from MODEL
    model = "examples/resnet.py:build"
    input = ["image:Nx3x224x224"]

YAML has the same shape (``defaults:`` and a ``models:`` list). Keys are ``torch2tf convert``'s
long option names (``-`` or ``_``); a flag takes ``true``; a repeatable option takes a list.
Relative paths are read from the manifest's directory, where every conversion runs.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.errors import UsageError
from torch2tf.workspace import is_safe_name

RESERVED = {"output", "force", "json", "quiet", "junit", "markdown", "work_dir"}  # convert-many sets these itself
ALIASES = {"inputs": "input", "tolerances": "tolerance"}


@dataclass(frozen=True)
class OptionSpec:
    """How one ``convert`` option is written on a command line."""

    flag: str  # "--input"
    is_flag: bool = False
    multiple: bool = False


@dataclass
class ModelEntry:
    name: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)  # option name → value, as written in the manifest

    def argv(self, table: dict[str, OptionSpec]) -> list[str]:
        """The ``convert`` arguments after MODEL, in the manifest's order."""
        args: list[str] = []
        for key, value in self.options.items():
            spec = table[key]
            if spec.is_flag:
                args += [spec.flag] if value else []
            else:
                for item in value if spec.multiple else [value]:
                    args += [spec.flag, str(item)]
        return args


def read_manifest(path: Path, table: dict[str, OptionSpec]) -> list[ModelEntry]:
    """Every entry of the manifest at ``path``, checked against ``table`` (``convert``'s options)."""
    document = _load(path)
    if not isinstance(document, dict) or not isinstance(document.get("models"), list) or not document["models"]:
        raise UsageError(f"{path}: expected a non-empty 'models' list (a [[models]] table per model in TOML)")
    unknown = set(document) - {"defaults", "models"}
    if unknown:
        raise UsageError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} (expected defaults, models)")
    defaults = _options(document.get("defaults") or {}, table, f"{path}: defaults")
    entries = [_entry(raw, index, defaults, table, path) for index, raw in enumerate(document["models"], 1)]
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise UsageError(f"{path}: two models are named {entry.name!r}; give one a different 'name'")
        seen.add(entry.name)
    return entries


def _load(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"manifest {path} does not exist" if not path.exists() else f"manifest {path} is not a file")
    text = path.read_text(errors="replace")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if path.suffix.lower() != ".toml":
        raise UsageError(f"manifest {path}: use a .toml, .yaml or .yml file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc


def _entry(raw: Any, index: int, defaults: dict[str, Any], table: dict[str, OptionSpec], path: Path) -> ModelEntry:
    where = f"{path}: model #{index}"
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), str) or not raw["model"].strip():
        raise UsageError(f"{where}: needs a 'model' (e.g. model = \"examples/resnet.py:build\")")
    name = raw.get("name") or default_name(raw["model"])
    if not is_safe_name(name):
        raise UsageError(f"{where}: name {name!r} is not allowed: letters, digits, '_', '-', '.' (at most 63)")
    own = _options({k: v for k, v in raw.items() if k not in ("name", "model")}, table, f"{where} ({name})")
    return ModelEntry(name=name, model=raw["model"], options={**defaults, **own})


def default_name(model: str) -> str:
    """``examples/resnet.py:build`` → ``resnet-build``; ``pkg.nets:make`` → ``pkg.nets-make``; ``m.onnx`` → ``m``."""
    location, _, attribute = model.partition(":")
    stem = Path(location).stem if location.endswith((".py", ".pt", ".pt2", ".onnx")) else location
    name = f"{stem}-{attribute}" if attribute else stem
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name).lstrip("-._")[:63] or "model"


def _options(raw: Any, table: dict[str, OptionSpec], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a table of convert options")
    options = {}
    for key, value in raw.items():
        name = ALIASES.get(key, key).replace("-", "_")
        if name in RESERVED:
            raise UsageError(f"{where}: '{key}' is set by convert-many itself and cannot be given per model")
        if name not in table:
            raise UsageError(f"{where}: unknown option '{key}' (see torch2tf convert --help for the options)")
        options[name] = _check_value(table[name], value, f"{where}: '{key}'")
    return options


def _check_value(spec: OptionSpec, value: Any, where: str) -> Any:
    if spec.is_flag:
        if not isinstance(value, bool):
            raise UsageError(f"{where} is a flag: write true or false, not {value!r}")
        return value
    values = value if isinstance(value, list) else [value]
    if not spec.multiple and isinstance(value, list):
        raise UsageError(f"{where} takes one value, not a list")
    for item in values:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise UsageError(f"{where}: expected a string or number, not {item!r}")
    return values if spec.multiple else value
