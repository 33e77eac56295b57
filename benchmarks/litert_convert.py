"""Run by .venv-litert's Python (benchmarks/litert_env.py): one model through litert-torch, as its
README converts one — ``litert_torch.convert(model, (sample,))`` then ``.export(path)`` — then the file
once through LiteRT's interpreter against eager PyTorch. Prints one JSON line.

    .venv-litert/bin/python benchmarks/litert_convert.py tests/corpus/vision.py:resnet18 1x3x64x64 out.tflite
"""
from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ref, shape, out = sys.argv[1], [int(d) for d in sys.argv[2].split("x")], Path(sys.argv[3])
    start = time.perf_counter()
    import litert_torch
    import numpy as np
    import torch

    path, _, builder = ref.partition(":")
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, builder)().eval()
    rng = np.random.default_rng(0)
    sample = torch.from_numpy(((rng.random(shape) - 0.45) / 0.226).astype("float32"))
    try:
        edge = litert_torch.convert(model, (sample,))
        edge.export(str(out))
    except Exception as exc:  # noqa: BLE001 — the benchmark records why the anchor failed, as a row
        print(json.dumps({"ok": False, "reason": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}))
        return
    seconds = time.perf_counter() - start
    with torch.no_grad():
        expected = model(sample)
    got = edge(sample)
    expected = expected if isinstance(expected, torch.Tensor) else next(iter(expected.values()))
    got = got if isinstance(got, np.ndarray) else next(iter(got.values()))
    error = float(np.abs(np.asarray(got) - expected.numpy()).max())
    print(json.dumps({"ok": True, "seconds": seconds, "max_abs": error, "max_ref": float(expected.abs().max()),
                      "bytes": out.stat().st_size}))


if __name__ == "__main__":
    main()
