"""onnxsim, run by us rather than by onnx2tf so our rewrites can come after it.

onnx2tf runs the ``onnxsim`` command three times in a row on its input (onnxsim's own API was
unstable for it) and would undo rewrites such as explicit LSTM states. We do the same three
passes ourselves, then call onnx2tf with its onnxsim switched off. The passes run onnxsim's own
command-line entry point (same options, same defaults) in one child process (onnxsim_child.py):
importing onnxsim takes ~3 s, three processes paid it three times (8.5 s of a 23.5 s ResNet
conversion). In a pipeline that child was started ahead and has imported onnxsim by now.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from torch2tf.cache import Cache, onnx_digest
from torch2tf.conversion.children import ONNXSIM_MODULE, child_env, take_ahead
from torch2tf.errors import ConversionError

PASSES = 3


def simplify_in_place(path: Path, static_shapes: dict[str, list[int]] | None = None,
                      timeout_s: int = 600, cache: Cache | None = None) -> None:
    """Run onnxsim's passes on ``path`` in place; ``static_shapes`` fixes dynamic input dims first."""
    if importlib.util.find_spec("onnxsim") is None:
        raise ConversionError("onnxsim is not installed", hint="pip install onnxsim")
    cache = cache or Cache(None)
    key = cache.key("onnxsim", {"onnx": onnx_digest(path), "name": path.name, "static": static_shapes,
                                "passes": PASSES}, ("onnxsim", "onnx", "onnxruntime"))
    if cache.fetch("onnxsim", key, path.parent) is not None:
        return
    _run_passes(path, static_shapes, timeout_s)
    data = path.with_name(path.name + ".data")
    cache.store("onnxsim", key, [path, data] if data.exists() else [path])


def _run_passes(path: Path, static_shapes: dict[str, list[int]] | None, timeout_s: int) -> None:
    args = [str(PASSES), str(path), str(path)]
    if static_shapes:
        args += ["--overwrite-input-shape"] + [f"{n}:{','.join(map(str, s))}" for n, s in static_shapes.items()]
    child = take_ahead("onnxsim")  # started while the model was exported: onnxsim already imported
    if child is not None and child.hand_over(json.dumps(args)):
        returncode = child.wait(timeout_s * PASSES)
        output = child.log_path.read_text(errors="replace")
    else:
        try:
            proc = subprocess.run([sys.executable, "-m", ONNXSIM_MODULE, *args], capture_output=True, text=True,
                                  timeout=timeout_s * PASSES, check=False, env=child_env())
            returncode, output = proc.returncode, proc.stderr or proc.stdout
        except subprocess.TimeoutExpired:
            returncode, output = None, ""
    if returncode is None:
        raise ConversionError(f"onnxsim did not finish within {timeout_s * PASSES} s")
    if returncode != 0:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        raise ConversionError(f"onnxsim failed: {lines[-1] if lines else 'no output'}")
