#!/usr/bin/env python
"""Which artifact to ship: every variant of the ResNet and MobileNet examples, measured side by side.

    .venv/bin/python benchmarks/bench_examples.py [--threads 2] [--out out/bench]

Converts each example with fp32/fp16 plus dynamic-range and full-integer int8 TFLite (calibrated
on seeded random normalized images: no image set ships with the repository), runs `torch2tf bench`
and prints size and median latency of every variant as ratios to onnxruntime fp32, and the int8
top-1 agreement with the fp32 model. Prints ratios; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"resnet": ("examples/resnet.py:build", "image:Nx3x224x224"),
            "mobilenet": ("examples/mobilenet.py:build", "image:Nx3x224x224")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "torch2tf"]
    for name, (model, spec) in EXAMPLES.items():
        out = args.out / name
        subprocess.run([*cli, "convert", model, "--input", spec, "-o", str(out), "--force", "-q", "--quantize",
                        "dynamic", "--quantize", "int8", "--calibration", "random"], check=True, cwd=ROOT)
        subprocess.run([*cli, "bench", str(out), "--threads", str(args.threads), "--rounds", str(args.rounds)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        report = json.loads((out / "report.json").read_text())
        print(f"\n## {name} ({spec}, batch 1, {args.threads} threads)\n")
        print("| runtime | size vs ORT fp32 | latency vs ORT fp32 | median ms |")
        print("|---|---|---|---|")
        for row in report["benchmark"]["rows"]:
            size = f"{row['size_vs_onnxruntime']:.2f}" if row["size_vs_onnxruntime"] else "–"
            print(f"| {row['runtime']} | {size} | {row['latency_vs_onnxruntime']:.2f} | {row['median_ms']:.2f} |")
        for entry in report["parity"]:
            if entry["preset"] == "int8":
                out_entry = entry["outputs"][0] if entry["outputs"] else {}
                print(f"\n{entry['target']}: top-1 agreement with fp32 {out_entry.get('top1')}, cosine "
                      f"{out_entry.get('cosine', float('nan')):.4f}, max abs {out_entry.get('max_abs', float('nan')):.3g}"
                      f" ({'within' if entry['passed'] else 'below'} the int8 preset)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
