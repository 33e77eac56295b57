"""``torch2tf bench DIR``: latency, throughput and size of every artifact, side by side.

Same inputs for every runtime, thread count fixed, warm-up first, then blocks of runs per runtime
in turn (interleaved, so machine noise hits all alike; see _time_runners). Ratios are against
onnxruntime fp32. Numbers for people: nothing here asserts a timing.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from torch2tf.artifacts import manifest_vocab, measured_stamp, read_manifest
from torch2tf.errors import Torch2TFError, UsageError
from torch2tf.inputs import make_inputs
from torch2tf.model_source import load_model
from torch2tf.native_logs import import_tensorflow
from torch2tf.perf.plot import plot_benchmark, require_matplotlib
from torch2tf.records import Benchmark, BenchRow, Manifest, read_report
from torch2tf.validation.report import update_report
from torch2tf.validation.runners import OrtRunner, SavedModelRunner, TfliteRunner, TorchRunner

WARMUP = 3
BLOCK = 10  # timed runs of one runtime in a row
PAUSE = 0.05  # seconds before each block: the other runtimes' spinning threads go to sleep
WARM_SECONDS = 0.05  # untimed runs before each block (see _warm)
MAX_BATCH = 4096  # the exporters' dynamic batch range
MAX_INPUT_BYTES = 1 << 30  # every runtime holds its own copy of the inputs and activations

MEASURED_ARTIFACTS = ("model.onnx", "saved_model/", "tflite/")  # what a bench row times


@dataclass
class BenchOptions:
    directory: Path
    threads: int = 2
    batches: tuple[int, ...] = (1,)
    rounds: int = 20
    plot: Path | None = None


def run_bench(options: BenchOptions, on_row: Callable[[BenchRow], None] | None = None) -> Benchmark:
    directory = options.directory
    if options.plot:
        require_matplotlib()  # before minutes of timing, not after
    manifest = read_manifest(directory)
    report = read_report(directory / "report.json")
    specs = manifest.specs()
    if any(b != 1 for b in options.batches) and not any(s.dynamic_batch for s in specs):
        raise UsageError("this model has a fixed batch: --batch 1 only")
    row_bytes = sum(math.prod(s.concrete_shape(1)) * np.dtype(s.dtype).itemsize for s in specs)
    largest = max(options.batches) * row_bytes
    if max(options.batches) > MAX_BATCH or largest > MAX_INPUT_BYTES:
        raise UsageError(f"--batch {max(options.batches)} is too large: at most {MAX_BATCH} rows and "
                         f"{MAX_INPUT_BYTES >> 20} MiB of inputs ({row_bytes:,} bytes a row here)")
    runners, notes = _runners(directory, manifest, options.threads)
    vocab = manifest_vocab(directory, manifest)
    rows = []
    try:
        for batch in options.batches:
            timings = _time_runners(runners, make_inputs(specs, batch, seed=0, vocab=vocab), options.rounds)
            rows += _rows(runners, timings, batch, on_row)
    finally:
        for runner, _ in runners.values():
            runner.close()
    result = Benchmark(options.threads, tuple(options.batches), options.rounds, WARMUP, tuple(rows), tuple(notes),
                       measured_stamp(manifest, MEASURED_ARTIFACTS))
    update_report(directory, replace(report, benchmark=result))
    if options.plot:
        plot_benchmark(result, options.plot)
    return result


def tflite_vs_onnxruntime(directory: Path, threads: int = 1, rounds: int = 20, target: str = "tflite_float32") -> dict:
    """Median latency at batch 1 of one TFLite variant against onnxruntime, interleaved, nothing else loaded
    (the coverage report's speed column)."""
    manifest = read_manifest(directory)
    specs = manifest.specs()
    path = directory / manifest.tflite.all_variants()[target].path
    runners = {"onnxruntime": (OrtRunner(directory / "model.onnx", threads=threads), None),
               target: (TfliteRunner(path, *manifest.tflite.bindings(target), threads=threads), None)}
    medians = _median_ms(runners, make_inputs(specs, 1, seed=0, vocab=manifest_vocab(directory, manifest)), rounds)
    ort_ms, tflite_ms = medians["onnxruntime"], medians[target]
    return {"onnxruntime_ms": ort_ms, "tflite_ms": tflite_ms, "ratio": tflite_ms / ort_ms}


def time_tflite_files(files: dict[str, tuple[Path, list, list]], feeds: dict[str, np.ndarray], threads: int,
                      rounds: int) -> dict[str, float]:
    """Median milliseconds at batch 1 of each TFLite file (name: (path, input bindings, output bindings)),
    timed side by side in blocks, as ``run_bench`` times runtimes."""
    runners = {name: (TfliteRunner(path, inputs, outputs, threads=threads), None)
               for name, (path, inputs, outputs) in files.items()}
    return _median_ms(runners, feeds, rounds)


def _median_ms(runners: dict, feeds: dict[str, np.ndarray], rounds: int) -> dict[str, float]:
    """Each runner's median milliseconds (``_time_runners``); every runner is closed afterwards."""
    try:
        timings = _time_runners(runners, feeds, rounds)
    finally:
        for runner, _ in runners.values():
            runner.close()
    return {name: float(np.median(times)) * 1000.0 for name, times in timings.items()}


def _time_runners(runners: dict, feeds: dict[str, np.ndarray], rounds: int) -> dict[str, list[float]]:
    """Warm-up, then blocks of BLOCK runs per runtime in turn, each after a pause and WARM_SECONDS of
    untimed runs (after a pause the first runs of a file are slower than its steady state).

    Not one run each in turn: onnxruntime's and XNNPACK's worker threads spin for a while after a run
    returns, so the runtime timed next shares the cores with them. Blocks with a pause time each runtime
    the way a server calls it, and still spread machine noise over all of them. Each runtime gets the
    inputs in its own layout and dtypes, made before timing (``Runner.timed``: each runner records its
    own seconds). Runtimes that linger (TensorFlow keeps the cores busy for a while after a SavedModel
    call) are timed after the others, among themselves. README "How bench times" has the figures."""
    first = {name: r for name, (r, _) in runners.items() if not r.lingers}
    for group in (first, {name: r for name, (r, _) in runners.items() if r.lingers}):
        calls = {name: (runner.prepare(feeds), runner.timed(feeds)) for name, runner in group.items()}
        for call, _ in calls.values():
            for _ in range(WARMUP):
                call()
        for runner in group.values():
            runner.timings.clear()
        done = 0
        while calls and done < rounds:
            block = min(BLOCK, rounds - done)
            for untimed, timed in calls.values():
                time.sleep(PAUSE)
                _warm(untimed)
                for _ in range(block):
                    timed()
            done += block
    return {name: list(runner.timings) for name, (runner, _) in runners.items()}


def _warm(call) -> None:
    """Untimed runs for WARM_SECONDS (at least one): the runtime's threads awake and the cores busy again."""
    start = time.perf_counter()
    call()
    while time.perf_counter() - start < WARM_SECONDS:
        call()


def _rows(runners: dict, timings: dict[str, list[float]], batch: int, on_row) -> list[BenchRow]:
    reference = float(np.median(timings["onnxruntime"])) * 1000.0
    reference_size = runners["onnxruntime"][1]
    rows = []
    for name, (_, size) in runners.items():
        ms = np.array(timings[name]) * 1000.0
        median = float(np.median(ms))
        row = BenchRow(name, batch, median, float(np.percentile(ms, 90)), batch / median * 1000.0, size,
                       median / reference, (size / reference_size) if size else None)
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


def _runners(directory: Path, manifest: Manifest, threads: int):
    _fix_tensorflow_threads(threads)
    notes = []
    runners = {}
    torch_runner = _torch_runner(manifest, threads, notes)
    if torch_runner is not None:
        runners["torch"] = (torch_runner, None)
    onnx_size = sum(p.stat().st_size for p in directory.glob("model.onnx*"))
    runners["onnxruntime"] = (OrtRunner(directory / "model.onnx", threads=threads), onnx_size)
    saved = directory / "saved_model"
    runners["saved_model"] = (SavedModelRunner(saved, manifest.plan()),
                              sum(p.stat().st_size for p in saved.rglob("*") if p.is_file()))
    for target, variant in manifest.tflite.all_variants().items():
        path = directory / variant.path
        runner = TfliteRunner(path, *manifest.tflite.bindings(target), threads=threads)
        runners[target] = (runner, path.stat().st_size)
    return runners, notes


def _torch_runner(manifest: Manifest, threads: int, notes: list[str]):
    """The PyTorch model in eager mode, when MODEL can still be loaded from here."""
    try:
        loaded = load_model(manifest.model)
    except Torch2TFError as exc:
        notes.append(f"torch eager skipped: {exc.message}")
        return None
    if loaded.module is None:
        notes.append("torch eager skipped: the model was converted from ONNX")
        return None
    import torch

    torch.set_num_threads(threads)
    names = manifest.input_names
    return TorchRunner(loaded.module, loaded.binding(names), names, manifest.output_names)


def _fix_tensorflow_threads(threads: int) -> None:
    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF's runtime already started in this process: it keeps its pools
        pass
