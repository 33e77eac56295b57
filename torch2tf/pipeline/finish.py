"""The one step that finishes a .tflite file onnx2tf (or the TFLite converter) wrote: ready to ship.

Its narrow PADs are widened (a speed edit), a quantized file's tensors take its own signature's names,
its outputs are bound to the PyTorch outputs by value, and it is signed with the PyTorch names in the
asked layout. The float and the quantized paths both finish their files here; the parity checks that
follow only check.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from torch2tf.conversion.rewrites.registry import SPEED
from torch2tf.conversion.tflite_pads import widen_narrow_pads
from torch2tf.conversion.tflite_signature import adopt_signature_names, sign_tflite
from torch2tf.inputs import Sample
from torch2tf.pipeline.bindings import bind_tflite_outputs
from torch2tf.records import RewriteNote
from torch2tf.specs import TensorBinding, TensorSpec

NARROW_PADS = "narrow_pads"  # the PAD widening's name among the rewrites (it edits the .tflite file)


@dataclass(frozen=True)
class FinishedTflite:
    path: Path
    inputs: list[TensorBinding]  # the signed file's ends, under the PyTorch names
    outputs: list[TensorBinding]
    layout: str  # nhwc | nchw: the image tensors of its signature
    raw_outputs: list[TensorBinding]  # the outputs as bound before signing: a sibling file with the same
    rewrites: tuple[RewriteNote, ...] = ()  # tensors (the fp16 file of an fp32 one) is signed with these

    @property
    def bindings(self) -> tuple[list[TensorBinding], list[TensorBinding]]:
        return self.inputs, self.outputs


@dataclass(frozen=True)
class FinishRequest:
    """What binding a file's outputs by value needs: the serving plan's inputs and one sample's answers."""

    inputs: list[TensorBinding]  # the SavedModel plan's input bindings
    output_specs: list[TensorSpec]
    sample: Sample
    expected: dict[str, dict[str, np.ndarray]]  # onnxruntime's outputs per sample
    layout: str = "nhwc"


def finish_tflite(path: Path, request: FinishRequest, outputs: list[TensorBinding] | None = None,
                  own_signature: bool = False) -> FinishedTflite:
    """Finish ``path`` in place. ``outputs``: bind them as a sibling file was bound (same tensors) instead of
    by value; ``own_signature``: the file carries the TFLite converter's signature (quantized files).
    Raises ConversionError, ArtifactLoadError or ArtifactRunError."""
    note = widen_narrow_pads(path)
    if own_signature:
        adopt_signature_names(path)  # the TFLite converter's files name their ends serving_default_x:0
    raw_outputs = outputs if outputs is not None else bind_tflite_outputs(
        path, request.inputs, request.output_specs, request.sample, request.expected)
    inputs, signed = sign_tflite(path, request.inputs, raw_outputs, request.layout)
    rewrites = (RewriteNote(NARROW_PADS, SPEED, note),) if note else ()
    return FinishedTflite(path, inputs, signed, request.layout, raw_outputs, rewrites)
