"""The quantize stage: quantized TFLite variants of the chosen conversion, checked with the int8 preset.

A failed int8 conversion keeps the float artifacts (the report says why); a variant below the
preset fails the run only with --strict-quant.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from torch2tf.cache import Cache
from torch2tf.conversion.quantize import VARIANTS, QuantizeOptions, load_calibration, quantize
from torch2tf.errors import ArtifactLoadError, ArtifactRunError, ConversionError
from torch2tf.pipeline.attempt import Attempt
from torch2tf.pipeline.finish import FinishRequest, finish_tflite
from torch2tf.pipeline.stages import Loaded
from torch2tf.records import ParityEntry, RewriteNote
from torch2tf.specs import TensorBinding, TensorSpec
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.parity import check_target, failed_target
from torch2tf.validation.runners import TfliteRunner


@dataclass
class Quantized:
    files: dict[str, Path] = field(default_factory=dict)  # target → .tflite in the work directory
    outputs: dict[str, list[TensorBinding]] = field(default_factory=dict)  # target → output bindings
    parity: list[ParityEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # modes whose conversion failed, with why
    notes: list[str] = field(default_factory=list)
    rewrites: list[RewriteNote] = field(default_factory=list)  # the finishing step's edits of the files

    def __str__(self) -> str:
        verdicts = [f"{p.target} {'ok' if p.passed else 'below the int8 preset'}" for p in self.parity]
        return ", ".join(verdicts + [f"{f} quantization failed" for f in self.failures])


def quantize_stage(options: QuantizeOptions, chosen: Attempt, loaded: Loaded, output_specs: list[TensorSpec],
                   work: Path, seed: int, tolerances: Tolerances, layout: str = "nhwc",
                   cache: Cache | None = None) -> Quantized:
    """Each quantized variant is written (or taken from the ``cache``: same graph, calibration data and
    versions), signed like the float files (``layout``) and checked."""
    result = Quantized()
    calibration = None
    if "int8" in options.modes:
        calibration = load_calibration(options, loaded.specs, seed)
        result.notes += calibration.notes
    perms = {b.name: b.perm for b in chosen.plan.inputs}
    for mode in options.modes:
        try:
            result.files.update(quantize(chosen.onnx2tf_input, work, mode, options, chosen.strategy, loaded.specs,
                                         perms, calibration.arrays if calibration else None, seed, cache))
        except ConversionError as exc:
            result.failures.append(mode)
            result.notes.append(f"{mode} quantization failed, float artifacts kept: {exc.message}")
            # asked for and not produced: a failure of that artifact and of the run, never a silent pass
            for target, _ in VARIANTS[mode]:
                result.parity.append(failed_target(target, "int8", loaded.samples,
                                                   f"{mode} quantization failed: {exc.message}"))
    for target, path in result.files.items():
        entry = _check_variant(target, path, chosen, loaded, output_specs, tolerances, result, layout)
        # below the int8 preset gates only with --strict-quant; not run always does
        result.parity.append(replace(entry, gating=options.strict))
    return result


def _check_variant(target: str, path: Path, chosen: Attempt, loaded: Loaded, output_specs: list[TensorSpec],
                   tolerances: Tolerances, result: Quantized, layout: str) -> ParityEntry:
    expected = chosen.candidate.expected
    request = FinishRequest(chosen.plan.inputs, output_specs, loaded.samples[0], expected, layout)
    try:
        finished = finish_tflite(path, request, own_signature=True)
        with TfliteRunner(path, *finished.bindings) as runner:
            entry = check_target(target, runner, loaded.samples, expected, "int8", tolerances)
    except (ConversionError, ArtifactLoadError, ArtifactRunError) as exc:
        return failed_target(target, "int8", loaded.samples, exc.message)
    result.outputs[target] = finished.outputs
    result.rewrites += [replace(n, detail=f"{target}: {n.detail}") for n in finished.rewrites]
    return entry
