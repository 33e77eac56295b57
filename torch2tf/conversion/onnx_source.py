"""Where in the PyTorch code an ONNX node came from, as recorded by the dynamo exporter.

torch.onnx (dynamo) stores per-node metadata: ``pkg.torch.onnx.name_scopes`` (the module path)
and ``pkg.torch.onnx.stack_trace`` (Python frames, outermost first). The TorchScript exporter
records only node names such as ``/stem/stem.0/Conv``, from which the module path is read.
"""
from __future__ import annotations

import ast
import re
from typing import Any

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def node_source(node: Any) -> dict[str, str]:
    """``{"module": "stem.1", "source": "examples/resnet.py:37"}``, with what is known."""
    meta = {p.key: p.value for p in node.metadata_props}
    info: dict[str, str] = {}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            parts = [p for p in ast.literal_eval(scopes) if p]
        except (ValueError, SyntaxError):
            parts = []
        if len(parts) > 1 and not parts[-2].startswith("_"):
            info["module"] = parts[-2]
    elif node.name.startswith("/") and node.name.count("/") > 1:
        info["module"] = node.name.strip("/").rsplit("/", 1)[0].split("/")[-1]
    trace = meta.get("pkg.torch.onnx.stack_trace", "")
    user_frames = [(f, ln) for f, ln, _ in _FRAME.findall(trace)
                   if "site-packages" not in f and "/torch/" not in f and not f.startswith("torch/")]
    if user_frames:
        path, line = user_frames[-1]
        info["source"] = f"{path}:{line}"
    return info
