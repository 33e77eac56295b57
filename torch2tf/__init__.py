"""torch2tf: PyTorch → ONNX → TensorFlow SavedModel / TFLite, with proof of parity.

Importing this package is cheap: torch, tensorflow, onnxruntime and onnx2tf are imported only by
the modules that need them, when they need them.
"""
__version__ = "0.1.0"
