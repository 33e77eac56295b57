"""The last stages: what the .tflite files really contain, and the output directory's files.

Everything is written into the staging directory; the pipeline renames it into place at the end.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from torch2tf.errors import ConversionError
from torch2tf.pipeline.attempt import Attempt
from torch2tf.pipeline.quantize import Quantized
from torch2tf.records import Manifest, Operator, Report, TfliteFiles, TfliteSummary, TfliteVariant, tflite_variants
from torch2tf.tflite.inventory import read_tflite_ops

FLOAT_TARGETS = ("tflite_float32", "tflite_float16")


@dataclass
class TfliteTruth:
    summaries: dict[str, TfliteSummary]  # target → ops, flex, custom, transpose_count, builtin_only
    operators: tuple[Operator, ...]  # report.json "operators" entries, one per TFLite op and target
    needs: list[str]  # Flex and custom ops any file needs

    def __str__(self) -> str:
        first = self.summaries["tflite_float32"]
        return (f"{sum(first.ops.values())} TFLite ops, {first.transpose_count} TRANSPOSE, "
                + ("builtin only" if not self.needs else f"needs {', '.join(self.needs)}"))


def tflite_files(chosen: Attempt, quantized: Quantized) -> dict[str, Path]:
    files = {target: chosen.tflite_path(target.removeprefix("tflite_")) for target in FLOAT_TARGETS}
    files.update(quantized.files)
    return files


def tflite_truth(chosen: Attempt, quantized: Quantized, builtins_only: bool) -> TfliteTruth:
    """Read each produced .tflite; Flex or custom ops fail the run with --tflite-builtins-only."""
    summaries, operators = {}, []
    for target, path in tflite_files(chosen, quantized).items():
        ops = read_tflite_ops(path)
        summaries[target] = ops.summary()
        operators += [Operator(name, count, ops.status_of(name), target=target)
                      for name, count in sorted(ops.counts.items())]
    needs = sorted({op for s in summaries.values() for op in s.needs})
    if needs and builtins_only:
        raise ConversionError(f"the TFLite files need non-builtin ops: {', '.join(needs)}",
                              hint="drop --tflite-builtins-only to accept the Flex delegate")
    return TfliteTruth(summaries, tuple(operators), needs)


def variants(quantized: Quantized, strict_quant: bool) -> dict[str, TfliteVariant]:
    """manifest.json's TFLite variants, with each quantized file's own output bindings."""
    result = tflite_variants(list(quantized.files), strict_quant)
    for target, outputs in quantized.outputs.items():
        result[target] = replace(result[target], outputs=tuple(outputs))
    return result


def write_artifacts(staging: Path, chosen: Attempt, quantized: Quantized, strict_quant: bool) -> None:
    onnx_path = chosen.candidate.onnx_path
    for path in (onnx_path, onnx_path.with_name(onnx_path.name + ".data")):
        if path.exists():
            shutil.copy2(path, staging / path.name)
    shutil.copytree(chosen.saved_model_dir, staging / "saved_model")
    (staging / "tflite").mkdir()
    files = tflite_files(chosen, quantized)
    for target, variant in variants(quantized, strict_quant).items():
        shutil.copy2(files[target], staging / variant.path)


def manifest_record(model: str, seed: int, vocab: dict[str, int], report: Report, chosen: Attempt,
                    quantized: Quantized, strict_quant: bool) -> Manifest:
    """What manifest.json records besides the files: I/O bindings, strategy, seed, vocabulary sizes."""
    tflite = None if chosen.tflite is None else TfliteFiles(  # None: its .tflite files could not be finished
        tuple(chosen.tflite.inputs), tuple(chosen.tflite.outputs), chosen.tflite.layout, variants(quantized, strict_quant))
    return Manifest(versions=report.versions, model=model, stages=report.stages, inputs=report.inputs,
                    outputs=report.outputs, seed=seed, vocab_sizes=vocab, signature=chosen.plan.to_json(),
                    tflite=tflite, strategy={"exporter": chosen.exporter, **asdict(chosen.strategy)})
