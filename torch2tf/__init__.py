"""torch2tf: PyTorch → ONNX → TensorFlow SavedModel / TFLite, with proof of parity.

Importing this package is cheap: torch, tensorflow, onnxruntime and onnx2tf are imported only by
the modules that need them, when they need them. It does one thing at import: onnxruntime's
telemetry is switched off (before onnxruntime is loaded, in this process and every child it
starts), so no run sends telemetry or leaves its device-id files in the home directory.
"""
import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
