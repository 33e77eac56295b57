#!/usr/bin/env python
"""What the TFLite signatures cost: signed files against the unsigned ones onnx2tf wrote, side by side.

    .venv/bin/python benchmarks/tflite_signature.py [--threads 2] [--rounds 200] [--out out/signature]

Converts every example twice (``--tflite-layout nhwc``, the default, and ``nchw``) and times, in one
process and interleaved round by round at batch 1, each example's fp32 file three ways:
unsigned (the same file with its SignatureDef removed, run through input/output tensor indices, as
every caller had to before), signed nhwc through ``get_signature_runner``, and signed nchw (one
TRANSPOSE per image end) through ``get_signature_runner``. Prints median latencies and the ratios
to unsigned. Asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "resnet": ("examples/resnet.py:build", ["image:Nx3x224x224"]),
    "mobilenet": ("examples/mobilenet.py:build", ["image:Nx3x160x160"]),
    "segmentation": ("examples/segmentation.py:build", ["image:Nx3x48x48"]),
    "transformer": ("examples.transformer:build", ["tokens:Nx32:int64"]),
    "bert": ("examples/bert.py:build", ["input_ids:Nx32:int64", "attention_mask:Nx32:int64"]),
    "lstm": ("examples/lstm.py:build", ["sequence:Nx20x16"]),
    "two_io": ("examples/two_io.py:build", ["image:Nx3x32x32", "features:Nx12"]),
}


def convert(name: str, layout: str, out: Path) -> Path:
    model, inputs = EXAMPLES[name]
    target = out / f"{name}-{layout}"
    args = [a for spec in inputs for a in ("--input", spec)]
    subprocess.run([sys.executable, "-m", "torch2tf", "convert", model, *args, "--tflite-layout", layout,
                    "-o", str(target), "--force", "-q"], check=True, cwd=ROOT)
    return target / "tflite" / "model_float32.tflite"


def unsigned_copy(path: Path) -> Path:
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    model.signatureDefs = []
    copy = path.with_name("unsigned.tflite")
    flatbuffer_utils.write_model(model, str(copy))
    return copy


def by_index(path: Path, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path), num_threads=threads)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    feeds = [_feed(d) for d in inputs]

    def run() -> None:
        for detail, value in zip(inputs, feeds):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        for detail in outputs:
            interpreter.get_tensor(detail["index"])
    return run


def by_signature(path: Path, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(str(path), num_threads=threads).get_signature_runner("serving_default")
    feeds = {name: _feed(detail) for name, detail in runner.get_input_details().items()}
    return lambda: runner(**feeds)


def _feed(detail: dict) -> np.ndarray:
    shape = [1 if d < 0 else int(d) for d in detail["shape_signature"]] or list(detail["shape"])
    rng = np.random.default_rng(0)
    if np.issubdtype(detail["dtype"], np.integer):
        return rng.integers(0, 50, shape).astype(detail["dtype"])
    return rng.standard_normal(shape).astype(detail["dtype"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "signature")
    args = parser.parse_args()
    print("| example | unsigned ms | signed nhwc / unsigned | signed nchw / unsigned |\n|---|---|---|---|")
    for name in EXAMPLES:
        nhwc, nchw = convert(name, "nhwc", args.out), convert(name, "nchw", args.out)
        runs = {"unsigned": by_index(unsigned_copy(nhwc), args.threads),
                "nhwc": by_signature(nhwc, args.threads), "nchw": by_signature(nchw, args.threads)}
        times: dict[str, list[float]] = {k: [] for k in runs}
        for run in runs.values():  # warm-up
            run()
        for _ in range(args.rounds):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                times[key].append(time.perf_counter() - start)
        median = {k: statistics.median(v) for k, v in times.items()}
        print(f"| {name} | {median['unsigned'] * 1e3:.3f} | {median['nhwc'] / median['unsigned']:.3f} | "
              f"{median['nchw'] / median['unsigned']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
