#!/usr/bin/env python
"""What restoring a dynamic batch over a static conversion costs, measured side by side.

    .venv/bin/python benchmarks/static_vs_dynamic.py [--model examples/resnet.py:build --input image:Nx3x224x224]

Converts the model twice — natively dynamic (strategy dynamic-batch) and with the batch fixed to 1
for onnx2tf and restored in the serving signature by mapping over the rows (static-batch) — then
times both SavedModels' serving_default at several batch sizes in interleaved rounds.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def interleaved_ms(fns: dict, feeds: dict, rounds: int) -> dict[str, float]:
    """Median milliseconds of each callable on ``feeds``, one call each in turn per round (after one warm-up call)."""
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn(**feeds)
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(**feeds)
            times[name].append(time.perf_counter() - start)
    return {k: float(np.median(v)) * 1000 for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="examples/resnet.py:build")
    parser.add_argument("--input", default="image:Nx3x224x224")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "static_vs_dynamic")
    args = parser.parse_args()
    dirs = {}
    for strategy in ("dynamic-batch", "static-batch"):
        dirs[strategy] = args.out / strategy
        subprocess.run([sys.executable, "-m", "torch2tf", "convert", args.model, "--input", args.input, "-o",
                        str(dirs[strategy]), "--force", "-q", "--strategy", strategy], check=True, cwd=ROOT)
    from torch2tf.inputs import make_inputs
    from torch2tf.native_logs import import_tensorflow
    from torch2tf.specs import parse_input_spec

    tf = import_tensorflow()
    fns = {k: tf.saved_model.load(str(d / "saved_model")).signatures["serving_default"] for k, d in dirs.items()}
    spec = parse_input_spec(args.input)
    print(f"{args.model}: serving_default median latency, ms")
    for batch in (int(b) for b in args.batches.split(",")):
        feeds = {k: tf.constant(v) for k, v in make_inputs([spec], batch, seed=0).items()}
        medians = interleaved_ms(fns, feeds, args.rounds)
        dynamic, static = medians["dynamic-batch"], medians["static-batch"]
        print(f"batch {batch}: dynamic {dynamic:.2f}  static+map {static:.2f}  ratio {static / dynamic:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
