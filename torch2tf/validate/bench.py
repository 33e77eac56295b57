"""``torch2tf bench DIR``: latency, throughput and size of every artifact, side by side.

Same inputs for every runtime, thread count fixed, warm-up first, then rounds in which each
runtime runs once in turn (interleaved, so machine noise hits all alike). Ratios are against
onnxruntime fp32. Numbers for people: nothing here asserts a timing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from torch2tf.artifacts import manifest_tflite_variants, read_manifest
from torch2tf.convert.signature import SignaturePlan, TensorBinding
from torch2tf.errors import Torch2TFError, UsageError
from torch2tf.model_spec import InputSpec
from torch2tf.validate.inputs import make_inputs

WARMUP = 3


@dataclass
class BenchOptions:
    directory: Path
    threads: int = 2
    batches: tuple[int, ...] = (1,)
    rounds: int = 20
    plot: Path | None = None


def run_bench(options: BenchOptions, on_row: Callable[[dict], None] | None = None) -> dict:
    from torch2tf.validate.validate_dir import _plan_from_json, update_report_files

    directory = options.directory
    manifest = read_manifest(directory)
    specs = [InputSpec.from_json(i) for i in manifest["inputs"]]
    if any(b != 1 for b in options.batches) and not any(s.dynamic_batch for s in specs):
        raise UsageError("this model has a fixed batch: --batch 1 only")
    plan = _plan_from_json(manifest["signature"])
    runners, notes = _runners(directory, manifest, plan, options.threads)
    from torch2tf.convert.onnx_checks import embedding_sizes

    vocab = embedding_sizes(directory / "model.onnx")
    rows = []
    for batch in options.batches:
        feeds = make_inputs(specs, batch, seed=0, vocab_sizes=vocab)
        timings = {name: [] for name in runners}
        for name, (runner, _) in runners.items():
            for _ in range(WARMUP):
                runner.infer(feeds)
        for _ in range(options.rounds):
            for name, (runner, _) in runners.items():
                start = time.perf_counter()
                runner.infer(feeds)
                timings[name].append(time.perf_counter() - start)
        reference = np.median(timings["onnxruntime"])
        reference_size = runners["onnxruntime"][1]
        for name, (_, size) in runners.items():
            ms = np.array(timings[name]) * 1000.0
            row = {"runtime": name, "batch": batch, "median_ms": float(np.median(ms)),
                   "p90_ms": float(np.percentile(ms, 90)), "throughput": batch / float(np.median(ms)) * 1000.0,
                   "size_bytes": size, "latency_vs_onnxruntime": float(np.median(ms)) / (reference * 1000.0),
                   "size_vs_onnxruntime": (size / reference_size) if size else None}
            rows.append(row)
            if on_row:
                on_row(row)
    for runner, _ in runners.values():
        runner.close()
    result = {"threads": options.threads, "batches": list(options.batches), "rounds": options.rounds,
              "warmup": WARMUP, "rows": rows, "notes": notes}
    report = _read_json(directory / "report.json")
    report["benchmark"] = result
    update_report_files(directory, report)
    if options.plot:
        plot_benchmark(result, options.plot)
    return result


def _runners(directory: Path, manifest: dict, plan: SignaturePlan, threads: int):
    from torch2tf.validate.runners import OrtRunner, SavedModelRunner, TfliteRunner

    _fix_tensorflow_threads(threads)
    notes = []
    runners = {}
    torch_runner = _torch_runner(manifest, threads, notes)
    if torch_runner is not None:
        runners["torch"] = (torch_runner, None)
    onnx_size = sum(p.stat().st_size for p in directory.glob("model.onnx*"))
    runners["onnxruntime"] = (OrtRunner(directory / "model.onnx", threads=threads), onnx_size)
    saved = directory / "saved_model"
    runners["saved_model"] = (SavedModelRunner(saved, plan), sum(p.stat().st_size for p in saved.rglob("*") if p.is_file()))
    default_outputs = [TensorBinding(**b) for b in manifest["tflite"]["outputs"]]
    for target, variant in manifest_tflite_variants(manifest).items():
        outputs = [TensorBinding(**b) for b in variant.get("outputs", [])] or default_outputs
        path = directory / variant["path"]
        runners[target] = (TfliteRunner(path, plan.inputs, outputs, threads=threads), path.stat().st_size)
    return runners, notes


def _torch_runner(manifest: dict, threads: int, notes: list[str]):
    """The PyTorch model in eager mode, when MODEL can still be loaded from here."""
    from torch2tf.model_spec import load_model
    from torch2tf.validate.runners import TorchRunner

    try:
        loaded = load_model(manifest["model"])
    except Torch2TFError as exc:
        notes.append(f"torch eager skipped: {exc.message}")
        return None
    if loaded.module is None:
        notes.append("torch eager skipped: the model was converted from ONNX")
        return None
    import torch

    torch.set_num_threads(threads)
    return TorchRunner(loaded.module, [i["name"] for i in manifest["inputs"]], [o["name"] for o in manifest["outputs"]])


def _fix_tensorflow_threads(threads: int) -> None:
    from torch2tf.native_logs import import_tensorflow

    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF's runtime already started in this process: it keeps its pools
        pass


def _read_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def plot_benchmark(result: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError("--plot needs matplotlib: pip install matplotlib") from exc
    batches = result["batches"]
    fig, axes = plt.subplots(1, len(batches), figsize=(6 * len(batches), 4), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        rows = [r for r in result["rows"] if r["batch"] == batch]
        ax.barh([r["runtime"] for r in rows], [r["median_ms"] for r in rows])
        ax.set_xlabel(f"median latency, ms (batch {batch}, {result['threads']} threads)")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def bench_table(result: dict) -> list[str]:
    lines = ["| runtime | batch | median ms | p90 ms | items/s | size | latency vs ORT | size vs ORT |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        size = f"{r['size_bytes'] / 1e6:.2f} MB" if r["size_bytes"] else "–"
        ratio = f"{r['size_vs_onnxruntime']:.2f}×" if r["size_vs_onnxruntime"] else "–"
        lines.append(f"| {r['runtime']} | {r['batch']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | "
                     f"{r['throughput']:.1f} | {size} | {r['latency_vs_onnxruntime']:.2f}× | {ratio} |")
    return lines
