"""The exported ONNX file must be valid before anything converts it: onnx.checker and shape inference."""
from __future__ import annotations

from pathlib import Path

from torch2tf.errors import ExportError


def check_and_infer_shapes(path: Path) -> None:
    """Run onnx.checker (full check) and write shape-inferred value_info back into ``path``."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"the ONNX model is invalid: {_first_line(exc)}") from exc
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(path), check_type=True)
    except Exception as exc:
        raise ExportError(f"ONNX shape inference failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
