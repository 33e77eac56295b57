"""Measure the operator support table by converting one-node models (developer tooling, not shipped).

``measure_ops`` runs each case of ``cases`` through onnxruntime, then as torch2tf converts:
our ONNX rewrites, onnx2tf (the adapter, recurrent loops unrolled) and the TFLite interpreter,
and classifies it:

- ``builtin``: the TFLite file uses builtin ops only and runs;
- ``flex``: TFLite needs SELECT_TF_OPS (Flex) kernels;
- ``tf_only``: the SavedModel converts but TFLite has no file, custom ops, or does not run;
- ``unsupported``: onnx2tf fails.

Where the case could be run both ways, ``parity`` says whether the SavedModel's outputs match
onnxruntime's (onnx2tf's layout guesses can go wrong on a lone node too).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx

from scripts.op_support.batch import run_onnx2tf_many
from scripts.op_support.cases import OpCase, build_case
from torch2tf.conversion.onnx_to_tf import Onnx2TfRequest
from torch2tf.conversion.op_support import STATUSES
from torch2tf.conversion.rewrites import apply_rewrites
from torch2tf.conversion.signature import plan_inputs, read_raw_signature, run_raw
from torch2tf.conversion.strategies import RECURRENT_OPS
from torch2tf.native_logs import make_interpreter
from torch2tf.pipeline.bindings import bind_outputs
from torch2tf.specs import TensorSpec
from torch2tf.tflite.inventory import read_tflite_ops
from torch2tf.validation.compare import Tolerance, compare_output

# A lone node should match onnxruntime closely; a relative part covers large-valued ops.
LONE_NODE = Tolerance(atol=1e-4, rtol=1e-4)


def measure_ops(cases: list[OpCase], work_dir: Path | None = None) -> dict[str, dict]:
    work = Path(work_dir or tempfile.mkdtemp(prefix="torch2tf-ops-")).resolve()
    requests, prepared = [], []
    results: dict[str, dict] = {}
    for number, case in enumerate(cases):
        directory = work / f"{case.op}-{number}"
        directory.mkdir(parents=True, exist_ok=True)
        try:
            model, feeds = build_case(case)
            path = directory / "model.onnx"
            onnx.save(model, str(path))
            reference = _run_onnxruntime(model, feeds)
        except Exception as exc:  # onnxruntime itself cannot run it: nothing to measure against
            _keep_best(results, case.op, {"status": "unsupported", "note": f"onnxruntime cannot run it: {_line(exc)}"})
            continue
        # What torch2tf itself does before onnx2tf: the rewrites, and unrolled recurrent loops.
        apply_rewrites(path)
        shapes = {n: list(a.shape) for n, a in feeds.items()}
        requests.append(Onnx2TfRequest(onnx_path=str(path), output_dir=str(directory / "raw"), use_onnxsim=False,
                                       input_shapes=shapes, unroll_rnn=case.op in RECURRENT_OPS))
        prepared.append((case, directory, feeds, reference))
    failures = run_onnx2tf_many(requests, work / "logs") if requests else []
    for (case, directory, feeds, reference), failure in zip(prepared, failures):
        if failure is not None or not (directory / "raw" / "saved_model.pb").exists():
            _keep_best(results, case.op, {"status": "unsupported", "note": (failure or "no SavedModel written")[:300]})
            continue
        _keep_best(results, case.op, _classify(directory / "raw", feeds, reference))
    for op, entry in results.items():
        entry["converter"] = has_converter(op)
    return results


def has_converter(op: str) -> bool:
    """Does onnx2tf have a converter for ``op`` at all? (Without one it fails in every context.)"""
    import importlib.util

    return importlib.util.find_spec(f"onnx2tf.ops.{op}") is not None


def _rank(entry: dict) -> tuple[int, int]:
    return (len(STATUSES) - STATUSES.index(entry["status"]), 1 if entry.get("parity") else 0)


def _keep_best(results: dict[str, dict], op: str, entry: dict) -> None:
    """Several cases of one op: the best measured one decides (an op converts when some form of it does)."""
    if op not in results or _rank(entry) > _rank(results[op]):
        results[op] = entry


def _classify(raw_dir: Path, feeds: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    entry = {"status": "tf_only", "note": "", "parity": _saved_model_parity(raw_dir, feeds, reference)}
    tflite = raw_dir / "model_float32.tflite"
    if not tflite.exists():
        entry["note"] = "no TFLite file written"
        return entry
    ops = read_tflite_ops(tflite)
    entry["tflite_ops"] = sorted(ops.counts)
    if ops.flex:
        entry.update(status="flex", note="needs " + ", ".join(sorted(ops.flex)))
    elif ops.custom:
        entry["note"] = "custom ops " + ", ".join(sorted(ops.custom))
    else:
        error = _tflite_runs(tflite)
        entry.update(status="builtin" if error is None else "tf_only", note=error or "")
    return entry


def _run_onnxruntime(model, feeds) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def _saved_model_parity(raw_dir: Path, feeds: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> bool | None:
    """Do onnx2tf's outputs match onnxruntime's (in either layout)? None when it cannot be run."""
    specs = [TensorSpec(n, tuple(a.shape), str(a.dtype)) for n, a in feeds.items()]
    out_specs = [TensorSpec(n, tuple(a.shape), str(a.dtype)) for n, a in reference.items()]
    try:
        raw, raw_inputs = read_raw_signature(raw_dir)
        inputs, _ = plan_inputs(specs, raw_inputs, [])
        outputs = run_raw(raw, inputs, feeds, None)
        bindings = bind_outputs(out_specs, outputs, reference)
    except Exception:  # ConversionError, or TF refusing the inputs: parity unknown
        return None
    for b in bindings:
        got = outputs[b.raw_name] if not b.perm else np.transpose(outputs[b.raw_name], b.perm)
        if not compare_output(b.name, reference[b.name], got, LONE_NODE).passed:
            return False
    return True


def _tflite_runs(path: Path) -> str | None:
    try:
        interpreter = make_interpreter(str(path), 1)
        interpreter.allocate_tensors()
        interpreter.invoke()
    except Exception as exc:  # LiteRT raises RuntimeError/ValueError for graphs it cannot prepare
        return f"TFLite cannot run it: {_line(exc)}"
    return None


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
