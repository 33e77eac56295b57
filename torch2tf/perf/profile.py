"""``torch2tf bench --profile``: where the time goes, operator by operator, in LiteRT and onnxruntime.

Both sides run the same seeded batch-1 input with the same thread count. onnxruntime's own profiler
times every node of its optimized graph. LiteRT's pip interpreter has no per-operator profiler, so
each operator of the .tflite file is cut out as a one-operator model (see op_models), fed the values
it saw in a full run, and timed alone on the kernels the full model uses; whether XNNPACK takes an
operator is read from that model's interpreter (a delegated operator becomes a delegate node). The
sum of the per-operator medians is printed beside the whole graph's median (timed as ``bench`` times,
profilers off), so what isolation adds or misses is in plain sight.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from torch2tf.artifacts import manifest_vocab, measured_stamp, read_manifest
from torch2tf.errors import ArtifactRunError, UsageError
from torch2tf.inputs import make_inputs
from torch2tf.native_logs import filtered_native_stderr, make_interpreter
from torch2tf.perf.bench import WARMUP, tflite_vs_onnxruntime
from torch2tf.perf.op_models import OpModel, op_models
from torch2tf.records import OpTime, Profile, RuntimeProfile, XnnpackUse, read_report
from torch2tf.validation.report import update_report
from torch2tf.validation.runners import OrtRunner, TfliteRunner


def run_profile(directory: Path, target: str = "tflite_float32", threads: int = 2, rounds: int = 20,
                on_progress=None) -> Profile:
    """Profile one TFLite variant of a convert output against onnxruntime; also written
    into report.json (``profile``) and report.md."""
    manifest = read_manifest(directory)
    variants = manifest.tflite.all_variants() if manifest.tflite else {}
    if target not in variants:
        have = ", ".join(sorted(variants)) or "no TFLite files"
        raise UsageError(f"--profile-target {target!r}: this output has {have}")
    report = read_report(directory / "report.json")
    feeds = make_inputs(manifest.specs(), 1, seed=0, vocab=manifest_vocab(directory, manifest))
    path = directory / variants[target].path
    tflite = profile_tflite(path, *manifest.tflite.bindings(target), feeds, threads, rounds, on_progress)
    onnx = profile_onnxruntime(directory / "model.onnx", feeds, threads, rounds)
    whole = tflite_vs_onnxruntime(directory, threads=threads, rounds=rounds, target=target)  # profilers off
    result = Profile(target, threads, rounds, WARMUP, 1, whole["ratio"], replace(tflite, whole_ms=whole["tflite_ms"]),
                     replace(onnx, whole_ms=whole["onnxruntime_ms"]),
                     measured_stamp(manifest, ("model.onnx", variants[target].path)))
    update_report(directory, replace(report, profile=result))
    return result


def profile_tflite(path: Path, inputs, outputs, feeds: dict[str, np.ndarray], threads: int, rounds: int,
                   on_progress=None) -> RuntimeProfile:
    """Per operator type: microseconds inside the graph (see _in_context), alone, count and share."""
    inspecting = TfliteRunner(path, inputs, outputs, threads=threads, inspect=True)
    inspecting.infer(feeds)
    interpreter = inspecting.interpreter
    shapes = {d["index"]: [int(x) for x in d["shape"]] for d in interpreter.get_tensor_details()}
    models = op_models(path, shapes)
    values = {i: interpreter.get_tensor(i) for i in {i for op in models for i in op.inputs}}
    partitions = _xnnpack_partitions(path, inputs, outputs, feeds, threads)
    alone, delegated = {}, {}
    for n, op in enumerate(models):
        if on_progress and n % 25 == 0:
            on_progress(f"LiteRT operator {n + 1} of {len(models)}")
        try:
            if op.content:
                alone[op.index], delegated[op.index] = _time_cut(op.content, op.inputs, values, threads, rounds)
        except (RuntimeError, ValueError) as exc:
            op.why_not = " ".join(str(exc).split())[:120]
    in_context = _in_context(models, alone, values, threads, rounds)
    per_type, per_type_alone = defaultdict(list), defaultdict(float)
    for op in models:
        if op.index in alone:
            per_type[op.op_type].append(in_context[op.index])
            per_type_alone[op.op_type] += alone[op.index] * 1e6
    ops = tuple(replace(row, alone_us=per_type_alone[row.op])
                for row in _table({k: (sum(v) * 1e6, len(v)) for k, v in per_type.items()}))
    fallbacks = Counter(op.op_type for op in models if op.index in delegated and not delegated[op.index])
    xnnpack = XnnpackUse(sum(delegated.values()), len(alone), dict(fallbacks.most_common()), partitions)
    not_timed = dict(Counter(f"{op.op_type} ({op.why_not})" for op in models if op.index not in alone))
    return RuntimeProfile(ops, len(models), sum(o.us for o in ops), sum(1 for op in models if op.op_type == "TRANSPOSE"),
                          xnnpack=xnnpack, not_timed=not_timed)


def _in_context(models: list[OpModel], alone: dict[int, float], values, threads: int, rounds: int) -> dict[int, float]:
    """An operator's seconds inside the graph: with its one reader, the pair's time less the reader's
    alone (XNNPACK fuses a PAD into the next convolution: ~0); alone when it has no single reader."""
    result = dict(alone)
    for op in models:
        if op.pair and op.index in alone and op.consumer in alone:
            try:
                pair, _ = _time_cut(op.pair, op.pair_inputs, values, threads, rounds)
            except (RuntimeError, ValueError):
                continue
            result[op.index] = max(0.0, pair - alone[op.consumer])
    return result


def _xnnpack_partitions(path: Path, inputs, outputs, feeds, threads: int) -> int:
    """How many pieces XNNPACK runs the whole graph in (each a delegate node after delegation)."""
    runner = TfliteRunner(path, inputs, outputs, threads=threads)
    runner.infer(feeds)
    return sum(1 for op in runner.interpreter._get_ops_details() if op["op_name"] == "DELEGATE")


def _time_cut(content: bytes, feeds: list[int], values: dict[int, np.ndarray], threads: int,
              rounds: int) -> tuple[float, bool]:
    """Median seconds of a cut-out model, and whether XNNPACK took all of it."""
    interpreter = make_interpreter(None, threads, content=content)
    with filtered_native_stderr():
        interpreter.allocate_tensors()
    for detail, index in zip(interpreter.get_input_details(), feeds):
        interpreter.set_tensor(detail["index"], values[index])
    delegated = [d["op_name"] for d in interpreter._get_ops_details()].count("DELEGATE") == 1
    for _ in range(WARMUP):
        interpreter.invoke()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), delegated


def profile_onnxruntime(onnx_path: Path, feeds: dict[str, np.ndarray], threads: int, rounds: int) -> RuntimeProfile:
    """onnxruntime's profiler over WARMUP + rounds runs; per node the median of the timed runs."""
    with tempfile.TemporaryDirectory(prefix="torch2tf-ort-profile-") as tmp:
        runner = OrtRunner(onnx_path, threads=threads, profile_prefix=Path(tmp) / "ort")
        call = runner.prepare(feeds)
        try:
            for _ in range(WARMUP + rounds):
                call()
        except Exception as exc:
            raise ArtifactRunError(f"onnxruntime could not run {onnx_path.name}: {str(exc).splitlines()[0]}") from exc
        events = json.loads(Path(runner.session.end_profiling()).read_text())
    return _ort_summary(events, rounds)


def _ort_summary(events: list[dict], rounds: int) -> RuntimeProfile:
    node_times, node_types = defaultdict(list), {}
    for event in events:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            node_times[event["name"]].append(event["dur"])
            node_types[event["name"]] = event.get("args", {}).get("op_name", "?")
    per_type: dict[str, tuple[float, int]] = {}
    for name, durations in node_times.items():
        us, count = per_type.get(node_types[name], (0.0, 0))
        per_type[node_types[name]] = (us + float(np.median(durations[-rounds:])), count + 1)
    ops = _table(per_type)
    return RuntimeProfile(ops, len(node_times), sum(o.us for o in ops),
                          sum(1 for t in node_types.values() if t == "Transpose"))


def _table(per_type: dict[str, tuple[float, int]]) -> tuple[OpTime, ...]:
    total = sum(us for us, _ in per_type.values()) or 1.0
    return tuple(OpTime(op, us, count, us / total)
                 for op, (us, count) in sorted(per_type.items(), key=lambda kv: -kv[1][0]))
