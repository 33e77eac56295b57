"""The fp16 file's reference: the fp32 .tflite with every float constant rounded to half precision.

A float16 .tflite stores its constants (weights, biases, folded BatchNorm and activation constants) as
half precision behind DEQUANTIZE operators and computes in float32 on CPU. Its expected error is what
that rounding causes. The TFLite converter rounds after it has folded constant arithmetic into the
weights, so rounding the ONNX graph's initializers does not reproduce it (README "How parity is
judged" has the measurement); rounding the fp32 file's constants does, bit for bit. The fp32 file itself is
judged against onnxruntime, so the two checks together say the fp16 file computes the model up to
the rounding of its weights.
"""
from __future__ import annotations

from pathlib import Path

from torch2tf.inputs import Sample
from torch2tf.records import ParityEntry
from torch2tf.specs import TensorBinding
from torch2tf.tflite.edit import with_half_precision_constants
from torch2tf.validation.compare import Tolerances
from torch2tf.validation.parity import Outputs, check_half_precision
from torch2tf.validation.runners import TfliteRunner


def check_fp16_file(fp16_file: Path, fp32_file: Path, bindings: tuple[list[TensorBinding], list[TensorBinding]],
                    samples: list[Sample], expected: Outputs, tolerances: Tolerances, work: Path) -> ParityEntry:
    """The fp16 file's parity entry: against ``fp32_file`` with half-precision constants (written in
    ``work``), its precision loss against ``expected`` beside it. Both files share ``bindings``."""
    reference_file = with_half_precision_constants(fp32_file, work / "model_float32_half_weights.tflite")
    with TfliteRunner(fp16_file, *bindings) as runner, TfliteRunner(reference_file, *bindings) as reference:
        return check_half_precision(runner, reference, samples, expected, tolerances)
