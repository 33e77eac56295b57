"""How a record becomes JSON and back: frozen pydantic dataclasses, validated on read, written atomically.

Every JSON file torch2tf writes (report.json, manifest.json) and every JSON document a child process
prints is read and written here, so a field has one name, one type and one default.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Callable, TypeVar

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from torch2tf.workspace import write_atomically

R = TypeVar("R")
# Unknown keys (a newer torch2tf's additions) are ignored on read; nothing is coerced silently past its type.
CONFIG = ConfigDict(extra="ignore", defer_build=True, arbitrary_types_allowed=False)


def record(cls: type[R]) -> type[R]:
    """A frozen, validated dataclass with ``to_json`` and ``from_json``."""
    own = vars(cls)
    cls = dataclass(frozen=True, config=CONFIG)(cls)
    if "to_json" not in own:
        cls.to_json = _to_json
    if "from_json" not in own:
        cls.from_json = classmethod(_from_json)
    return cls


@cache
def adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def _to_json(self) -> dict[str, Any]:
    return adapter(type(self)).dump_python(self)


def _from_json(cls: type[R], data: Any) -> R:
    """Raises ValueError naming the first field that does not fit."""
    try:
        return adapter(cls).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ValueError(f"{where}: {first['msg']}") from None


to_json = _to_json  # for a record whose own to_json arranges the keys
from_json = _from_json


def omitted_if(test: Callable[[Any], bool], default: Any = None, factory: Callable[[], Any] | None = None) -> Any:
    """A field left out of the JSON when ``test(value)``: how optional keys stay absent, as before records."""
    if factory is not None:
        return Field(default_factory=factory, exclude_if=test)
    return Field(default=default, exclude_if=test)


def when_empty(factory: Callable[[], Any] = tuple) -> Any:
    return omitted_if(lambda v: not v, factory=factory)


def when_none() -> Any:
    return omitted_if(lambda v: v is None)


def when(value: Any) -> Any:
    """Left out while it holds its default ``value`` (e.g. ``gating`` only when False)."""
    return omitted_if(lambda v: v == value, default=value)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically: a reader sees the old file or the new one, never half of either."""
    write_atomically(Path(path), dumps(data))


def read_json(path: Path) -> Any:
    """The parsed file; OSError or json.JSONDecodeError (a ValueError) for the caller to name."""
    return json.loads(Path(path).read_text())


def load_record(path: Path, cls: type[R], error: type[Exception], what: str) -> R:
    """``cls`` read from ``path``; ``error`` naming the file when it is not JSON or not such a record."""
    try:
        data = read_json(path)
    except ValueError as exc:
        raise error(f"{path} is not valid JSON: {exc}") from exc
    try:
        return cls.from_json(data)
    except ValueError as exc:
        raise error(f"{path} is not a torch2tf {what}: {exc}") from exc


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)
