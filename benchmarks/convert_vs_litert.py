#!/usr/bin/env python
"""Conversion time: `torch2tf convert` against Google's direct converter (litert-torch 0.10.0) on the
vision corpus's models, side by side in one run.

    .venv/bin/python benchmarks/convert_vs_litert.py [--only NAME,NAME | --all] [--rounds 1]

torch2tf: the CLI as users run it, from scratch (`--no-cache`): export, operator check, SavedModel,
TFLite fp32 and fp16, every artifact validated, the report. litert-torch: `litert_torch.convert` and
`.export` in .venv-litert (built on first use, benchmarks/litert_env.py), one .tflite file checked
once against eager PyTorch. Each is one fresh process timed from start to exit, one at a time,
the order alternating model by model. Prints seconds, the ratio and its median. Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.litert_env import ensure_litert_venv  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "vision.toml"
# A fixed default set: one model of each family issue 29 timed, and the corpus's CI share.
DEFAULT = ("timm-resnet18", "timm-resnet50d", "timm-res2net50-26w-4s", "timm-efficientnet-b0",
           "timm-mobilenetv3-small-050", "timm-mobilenetv4-conv-small", "timm-densenet121", "timm-dla34",
           "timm-regnety-002", "timm-ghostnet-100", "timm-convnext-atto", "timm-convnextv2-atto",
           "timm-hrnet-w18-small", "timm-vit-tiny-patch16-224", "timm-mobilevit-xxs",
           "torchvision-deeplabv3-mobilenet-v3-large")


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - start, proc


def run_torch2tf(entry: dict, out: Path) -> tuple[float, str]:
    seconds, proc = timed([sys.executable, "-m", "torch2tf", "convert", entry["model"], "-o", str(out), "--force",
                           "-q", "--no-cache", *[a for spec in entry["inputs"] for a in ("-i", spec)]])
    return seconds, {0: "parity holds", 3: "parity failed"}.get(proc.returncode, f"exit {proc.returncode}")


def run_litert(python: Path, entry: dict, out: Path) -> tuple[float, str]:
    shape = entry["inputs"][0].split(":")[1].replace("N", "1")
    seconds, proc = timed([str(python), str(ROOT / "benchmarks" / "litert_convert.py"), entry["model"], shape,
                           str(out / "litert.tflite")])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return seconds, f"crashed: {(proc.stderr.strip().splitlines() or ['no output'])[-1][:120]}"
    answer = json.loads(lines[-1])
    if not answer["ok"]:
        return seconds, answer["reason"]
    return seconds, f"max abs vs torch {answer['max_abs']:.1e} (max |ref| {answer['max_ref']:.2g})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated vision corpus names (default: a fixed set of 16)")
    parser.add_argument("--all", action="store_true", help="every vision corpus model")
    args = parser.parse_args()
    entries = {e["name"]: e for e in tomllib.loads(CORPUS.read_text())["model"]}
    names = list(entries) if args.all else args.only.split(",") if args.only else list(DEFAULT)
    unknown = [n for n in names if n not in entries]
    if unknown:
        parser.error(f"not in {CORPUS.relative_to(ROOT)}: {', '.join(unknown)}")
    python = ensure_litert_venv()
    ratios = []
    print(f"{'model':42} {'torch2tf s':>10} {'litert s':>9} {'ratio':>6}  torch2tf / litert-torch result", flush=True)
    with tempfile.TemporaryDirectory(prefix="torch2tf-vs-litert-") as tmp:
        for i, name in enumerate(names):
            out = Path(tmp) / name
            out.mkdir()
            runs = [lambda: run_torch2tf(entries[name], out / "torch2tf"), lambda: run_litert(python, entries[name], out)]
            (mine, mine_result), (theirs, their_result) = [r() for r in runs] if i % 2 == 0 else \
                [r() for r in runs[::-1]][::-1]
            ratio = mine / theirs
            ratios.append(ratio)
            print(f"{name:42} {mine:10.1f} {theirs:9.1f} {ratio:6.2f}  {mine_result} / {their_result}", flush=True)
    print(f"median ratio torch2tf / litert-torch over {len(ratios)} models: {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
