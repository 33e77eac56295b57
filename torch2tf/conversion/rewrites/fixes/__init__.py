"""Rewrites that work around an onnx2tf bug: without them the conversion fails or computes something else."""
