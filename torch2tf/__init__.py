"""torch2tf: PyTorch → ONNX → TensorFlow SavedModel / TFLite, with proof of parity.

The Python API (``torch2tf/api.py``): ``convert``, ``check``, ``validate``, ``package``, ``bench`` and
``ConversionResult``, loaded on first use so that importing this package stays cheap: torch,
tensorflow, onnxruntime and onnx2tf are imported only by the modules that need them, when they need
them. It does one thing at import: onnxruntime's telemetry is switched off (before onnxruntime is
loaded, in this process and every child it starts), so no run sends telemetry or leaves its device-id
files in the home directory.
"""
import importlib
import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
API = ("convert", "check", "validate", "package", "bench", "ConversionResult")
__all__ = [*API, "__version__"]


def __getattr__(name: str):
    """The API's names, from torch2tf.api on first use (PEP 562): `torch2tf --help` and the conversion's
    child processes never load the pipeline for it."""
    if name in API:
        return getattr(importlib.import_module("torch2tf.api"), name)
    raise AttributeError(f"module 'torch2tf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
