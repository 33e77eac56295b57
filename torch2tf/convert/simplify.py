"""onnxsim, run by us rather than by onnx2tf so our rewrites can come after it.

onnx2tf runs the ``onnxsim`` command three times in a row on its input (onnxsim's own API was
unstable for it) and would undo rewrites such as explicit LSTM states. We do the same three
passes ourselves, then call onnx2tf with its onnxsim switched off.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from torch2tf.errors import ConversionError

PASSES = 3


def simplify_in_place(path: Path, static_shapes: dict[str, list[int]] | None = None,
                      timeout_s: int = 600) -> None:
    """Run ``onnxsim`` on ``path`` in place; ``static_shapes`` fixes dynamic input dims first."""
    exe = shutil.which("onnxsim", path=str(Path(sys.executable).parent)) or shutil.which("onnxsim")
    if exe is None:
        raise ConversionError("the onnxsim command is not installed", hint="pip install onnxsim")
    args = [exe, str(path), str(path)]
    if static_shapes:
        args += ["--overwrite-input-shape"] + [f"{n}:{','.join(map(str, s))}" for n, s in static_shapes.items()]
    for _ in range(PASSES):
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConversionError(f"onnxsim did not finish within {timeout_s} s") from exc
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            raise ConversionError(f"onnxsim failed: {lines[-1] if lines else 'no output'}")
