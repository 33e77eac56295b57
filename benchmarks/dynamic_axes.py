#!/usr/bin/env python
"""What a dynamic sequence axis costs, measured side by side: one model converted at a fixed length and with
``{seq}`` dynamic, both timed at the same length in one run.

    .venv/bin/python benchmarks/dynamic_axes.py [--model examples/bert.py:build] [--length 32]

The fixed conversion takes ``NAME:NxL`` for every input (its usual strategy: a native dynamic batch); the
dynamic one ``NAME:Nx{seq=L..2L}`` (whichever strategy holds parity; for BERT-style graphs the batch is then
fixed for onnx2tf and the SavedModel maps over rows). Printed: the strategy each got, then median
milliseconds and the ratio dynamic / fixed for the SavedModel's serving_default at batch 1 and 4 and for
the TFLite fp32 file at batch 1 (interleaved in blocks, as `torch2tf bench` times).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="examples/bert.py:build")
    parser.add_argument("--inputs", default="input_ids:int64,attention_mask:int64", help="NAME:DTYPE,…")
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "dynamic_axes")
    args = parser.parse_args()
    inputs = [i.split(":") for i in args.inputs.split(",")]
    shapes = {"fixed": f"Nx{args.length}", "dynamic": f"Nx{{seq={args.length}..{2 * args.length}}}"}
    dirs = {}
    for kind, shape in shapes.items():
        dirs[kind] = args.out / kind
        specs = [a for name, dtype in inputs for a in ("-i", f"{name}:{shape}:{dtype}")]
        subprocess.run([sys.executable, "-m", "torch2tf", "convert", args.model, *specs, "-o", str(dirs[kind]),
                        "--force", "-q", "--no-localize"], check=True, cwd=ROOT)
    from benchmarks.static_vs_dynamic import interleaved_ms
    from torch2tf.artifacts import read_manifest
    from torch2tf.inputs import make_inputs
    from torch2tf.native_logs import import_tensorflow
    from torch2tf.perf.bench import time_tflite_files
    from torch2tf.records.report import read_report
    from torch2tf.specs import parse_input_spec

    for kind, directory in dirs.items():
        print(f"{kind}: strategy {read_report(directory / 'report.json').conversion.strategy}")
    tf = import_tensorflow()
    fns = {k: tf.saved_model.load(str(d / "saved_model")).signatures["serving_default"] for k, d in dirs.items()}
    specs = [parse_input_spec(f"{name}:Nx{args.length}:{dtype}") for name, dtype in inputs]
    print(f"{args.model} at length {args.length}: median ms, dynamic / fixed")
    for batch in (1, 4):
        feeds = {k: tf.constant(v) for k, v in make_inputs(specs, batch, seed=0, vocab={}).items()}
        medians = interleaved_ms(fns, feeds, args.rounds)
        fixed, dynamic = medians["fixed"], medians["dynamic"]
        print(f"saved_model batch {batch}: fixed {fixed:.3f}  dynamic {dynamic:.3f}  ratio {dynamic / fixed:.2f}")
    files = {k: (d / "tflite" / "model_float32.tflite", *read_manifest(d).tflite.bindings("tflite_float32"))
             for k, d in dirs.items()}
    timings = time_tflite_files(files, make_inputs(specs, 1, seed=0, vocab={}), threads=2, rounds=args.rounds)
    print(f"tflite_float32 batch 1: fixed {timings['fixed']:.3f}  dynamic {timings['dynamic']:.3f}  "
          f"ratio {timings['dynamic'] / timings['fixed']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
