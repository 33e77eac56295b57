#!/usr/bin/env python
"""How fast each example's artifacts run against onnxruntime, family by family, measured side by side.

    .venv/bin/python benchmarks/bench_examples.py [--threads 2] [--rounds 60] [--only resnet,mobilenet] [--tune]
                                                  [--repeat 3]

Converts every example and three nets of families no example covers (ConvNeXt, ViT-tiny, GRU:
benchmarks/family_models.py) (the ResNet and MobileNet ones also with dynamic-range and full-integer int8
TFLite, calibrated on seeded random normalized images: no image set ships with the repository), runs
`torch2tf bench` (batch 1; every runtime in blocks of runs in turn, see torch2tf/validation/bench.py)
and prints each variant's median latency and size as ratios to onnxruntime fp32, then one summary
row per family. With --repeat K the bench runs K times, one after another, each in a fresh process:
a ratio is then the median of the K runs with their range, since on a shared machine one run can
move a ratio by a fifth. Prints ratios; asserts nothing. `torch2tf bench DIR --profile` says where the time goes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# family: (MODEL, --input values, quantize too)
EXAMPLES = {
    "resnet": ("examples/resnet.py:build", ["image:Nx3x224x224"], True),
    "mobilenet": ("examples/mobilenet.py:build", ["image:Nx3x224x224"], True),
    "segmentation (U-Net)": ("examples/segmentation.py:build", ["image:Nx3x48x48"], False),
    "transformer": ("examples.transformer:build", ["tokens:Nx32:int64"], False),
    "bert": ("examples/bert.py:build", ["input_ids:Nx32:int64", "attention_mask:Nx32:int64"], False),
    "lstm": ("examples/lstm.py:build", ["sequence:Nx20x16"], False),
    # families no example covers (benchmarks/family_models.py)
    "convnext": ("benchmarks/family_models.py:convnext_style", ["image:Nx3x128x128"], False),
    "vit-tiny": ("benchmarks/family_models.py:vit_tiny", ["image:Nx3x64x64"], False),
    "gru": ("benchmarks/family_models.py:gru_tagger", ["tokens:Nx24:int64"], False),  # 32 steps = 32 hidden: README
}
QUANTIZE = ["--quantize", "dynamic", "--quantize", "int8", "--calibration", "random"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--only", help="comma-separated family names (the keys before a space), e.g. resnet,lstm")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    parser.add_argument("--repeat", type=int, default=1,
                        help="bench each family this many times; ratios as median (min–max) of the runs")
    parser.add_argument("--tune", action="store_true",
                        help="convert with --tune (every strategy, the fastest TFLite fp32 file kept)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: give at least 1 bench run")
    chosen = {k: v for k, v in EXAMPLES.items()
              if not args.only or k.split(" ")[0] in args.only.split(",")}
    summary = []
    for name, (model, specs, quantize) in chosen.items():
        summary.append((name, _convert_and_bench(name.split(" ")[0], model, specs, quantize, args)))
    print("\n## Summary: median latency at batch 1 as a ratio to onnxruntime fp32 "
          f"({args.threads} threads, {args.rounds} runs each)\n")
    print("| family | TFLite fp32 | TFLite fp16 | int8 (full integer) | int8 top-1 agreement | SavedModel |")
    print("|---|---|---|---|---|---|")
    for name, (report, runs) in summary:
        ratios = {runtime: _ratio(values) for runtime, values in runs.items()}
        int8 = next((p for p in report["parity"] if p["target"] == "tflite_integer_quant"), None)
        top1 = int8["outputs"][0].get("top1") if int8 and int8["outputs"] else None
        print(f"| {name} | {ratios.get('tflite_float32', '–')} | {ratios.get('tflite_float16', '–')} | "
              f"{ratios.get('tflite_integer_quant', '–')} | {'–' if top1 is None else f'{top1:.2f}'} | "
              f"{ratios.get('saved_model', '–')} |")
    return 0


def _convert_and_bench(name: str, model: str, specs: list[str], quantize: bool,
                       args) -> tuple[dict, dict[str, list[float]]]:
    cli = [sys.executable, "-m", "torch2tf"]
    out = args.out / name
    inputs = [a for spec in specs for a in ("--input", spec)]
    subprocess.run([*cli, "convert", model, *inputs, "-o", str(out), "--force", "-q", "--no-cache",
                    *(QUANTIZE if quantize else []), *(["--tune"] if args.tune else [])], check=True, cwd=ROOT)
    runs: dict[str, list[float]] = {}
    milliseconds: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        subprocess.run([*cli, "bench", str(out), "--threads", str(args.threads), "--rounds", str(args.rounds)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        report = json.loads((out / "report.json").read_text())
        for row in report["benchmark"]["rows"]:
            runs.setdefault(row["runtime"], []).append(row["latency_vs_onnxruntime"])
            milliseconds.setdefault(row["runtime"], []).append(row["median_ms"])
    strategy = report["conversion"]["strategy"]
    times = f", {args.repeat} bench runs" if args.repeat > 1 else ""
    print(f"\n## {name} ({' '.join(specs)}, batch 1, {args.threads} threads, strategy {strategy}{times})\n")
    print("| runtime | size vs ORT fp32 | latency vs ORT fp32 | median ms |")
    print("|---|---|---|---|")
    for row in report["benchmark"]["rows"]:
        size = f"{row['size_vs_onnxruntime']:.2f}" if row["size_vs_onnxruntime"] else "–"
        runtime = row["runtime"]
        print(f"| {runtime} | {size} | {_ratio(runs[runtime], '')} | {statistics.median(milliseconds[runtime]):.2f} |")
    return report, runs


def _ratio(values: list[float], unit: str = "×") -> str:
    """The median of the runs' ratios, and their range when there is more than one run."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    middle = f"{statistics.median(values):.2f}{unit}"
    return middle if len(values) == 1 else f"{middle} ({min(values):.2f}–{max(values):.2f})"


if __name__ == "__main__":
    sys.exit(main())
