"""Reading a .tflite file into LiteRT's object form and writing it back in place, with typed errors."""
from __future__ import annotations

from pathlib import Path

from torch2tf.errors import Torch2TFError

FILE_IDENTIFIER = b"TFL3"  # the TFLite schema's flatbuffer file identifier, at bytes 4..8


def schema():
    """LiteRT's generated flatbuffer schema module (imported on first use: it pulls in flatbuffers)."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def read_model(path: Path, error: type[Torch2TFError], purpose: str):
    """``path`` as a mutable ``ModelT``; ``error`` saying what could not be done (``purpose``) otherwise."""
    from ai_edge_litert.tools import flatbuffer_utils

    try:
        return flatbuffer_utils.read_model_from_bytearray(bytearray(Path(path).read_bytes()))
    except Exception as exc:  # flatbuffers raises from deep inside on a damaged or foreign file
        raise error(f"cannot read {Path(path).name} to {purpose}: {first_line(exc)}") from exc


def read_view(path: Path, error: type[Torch2TFError]):
    """A read-only view of ``path`` (``Model.GetRootAs``), cheap on large files; ``error`` if it is no .tflite."""
    data = Path(path).read_bytes()
    if data[4:8] != FILE_IDENTIFIER:
        raise error(f"{path} is not a readable TFLite flatbuffer (no TFL3 identifier)")
    try:
        return schema().Model.GetRootAs(data, 0)
    except Exception as exc:
        raise error(f"{path} is not a readable TFLite flatbuffer: {first_line(exc)}") from exc


def model_bytes(model) -> bytes:
    from ai_edge_litert.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def write_model(model, path: Path) -> Path:
    """Write ``model`` to ``path`` through a sibling file renamed over it: never half a file at ``path``."""
    from ai_edge_litert.tools import flatbuffer_utils

    path = Path(path)
    staged = path.with_name(path.name + ".writing")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flatbuffer_utils.write_model(model, str(staged))
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return path


def text(value) -> str:
    """A flatbuffer string field (bytes in the object form)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def readers(graph) -> dict[int, list]:
    """Each tensor index of an object-API subgraph → the operators that read it."""
    found: dict[int, list] = {}
    for op in graph.operators or []:
        for index in op.inputs if op.inputs is not None else []:
            found.setdefault(int(index), []).append(op)
    return found
