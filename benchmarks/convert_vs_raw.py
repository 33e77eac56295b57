#!/usr/bin/env python
"""`torch2tf convert` end to end against the raw tools (export + onnx2tf, which check nothing).

    .venv/bin/python benchmarks/convert_vs_raw.py [--rounds 2] [--example resnet]

Raw: a fresh Python process runs ``torch.onnx.export(dynamo=True)`` and ``onnx2tf.convert`` with
onnx2tf's defaults (its own onnxsim passes, SavedModel + fp32/fp16 TFLite), as a user's script
would. torch2tf: ``torch2tf convert`` (export, operator check, conversion, parity of every
artifact, report). Both run as separate processes, alternated round by round; prints wall-clock
seconds and the ratio. Asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"resnet": ("examples/resnet.py", "image", (1, 3, 224, 224)),
            "mobilenet": ("examples/mobilenet.py", "image", (1, 3, 160, 160))}
RAW = """
import sys, importlib.util, numpy as np, torch, onnx2tf, onnx2tf.onnx2tf as onnx2tf_main
# the one change to the raw run: this machine is offline, so onnx2tf's sample-image download is
# answered locally (20x128x128x3 random images, what torch2tf's adapter hands it too)
onnx2tf_main.download_test_image_data = lambda: np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32)
path, name, shape, out = sys.argv[1], sys.argv[2], eval(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("example", path)
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
model = module.build().eval()
x = torch.randn(*shape)
torch.onnx.export(model, (x,), out + "/model.onnx", input_names=[name], dynamo=True)
onnx2tf.convert(input_onnx_file_path=out + "/model.onnx", output_folder_path=out + "/tf", non_verbose=True)
"""


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--example", choices=list(EXAMPLES), default="resnet")
    args = parser.parse_args()
    path, name, shape = EXAMPLES[args.example]
    spec = f"{name}:Nx{'x'.join(map(str, shape[1:]))}"
    raw_times, ours = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as raw_dir, tempfile.TemporaryDirectory() as our_dir:
            raw_times.append(timed([sys.executable, "-c", RAW, path, name, repr(shape), raw_dir]))
            ours.append(timed([sys.executable, "-m", "torch2tf", "convert", f"{path}:build", "--input", spec,
                               "-o", f"{our_dir}/out", "-q", "--no-cache"]))
    raw, our = statistics.median(raw_times), statistics.median(ours)
    print(f"{args.example} ({spec}): raw export + onnx2tf {raw:.1f} s, torch2tf convert {our:.1f} s, "
          f"ratio {our / raw:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
