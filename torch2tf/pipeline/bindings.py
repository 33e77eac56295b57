"""Bind onnx2tf's outputs to the PyTorch outputs by value: which raw tensor, in which layout.

onnx2tf renames outputs (``logits`` → ``output_0`` in the SavedModel, ``Identity`` in TFLite) and
leaves some of them channel-last; which is which is only knowable by comparing with onnxruntime.
Each ONNX output takes the raw output and layout closest to it, measured by the one comparator.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from torch2tf.errors import ConversionError
from torch2tf.inputs import Sample
from torch2tf.specs import TensorBinding, TensorSpec, candidate_perms
from torch2tf.validation.compare import PRESETS, compare_output
from torch2tf.validation.runners import TfliteRunner


def bind_outputs(output_specs: list[TensorSpec], raw_outputs: dict[str, np.ndarray],
                 reference: dict[str, np.ndarray]) -> list[TensorBinding]:
    bindings = []
    free = dict(raw_outputs)
    for spec in output_specs:
        want = reference[spec.name]
        best = None
        for raw_name, value in free.items():
            for perm in candidate_perms(value.ndim):
                got = value if perm is None else np.transpose(value, perm)
                if got.shape != want.shape:
                    continue
                error = compare_output(spec.name, want, got, PRESETS["fp32"]).max_abs
                if best is None or error < best[0]:
                    best = (error, raw_name, perm)
        if best is None:
            shapes = {k: v.shape for k, v in free.items()}
            raise ConversionError(f"no onnx2tf output has the shape of {spec.name} {want.shape} "
                                  f"(onnx2tf returned {shapes})")
        _, raw_name, perm = best
        bindings.append(TensorBinding(spec.name, raw_name, perm, spec.dtype, str(free[raw_name].dtype)))
        del free[raw_name]
    return bindings


def bind_tflite_outputs(path: Path, inputs: list[TensorBinding], output_specs: list[TensorSpec], sample: Sample,
                        expected: dict[str, dict[str, np.ndarray]]) -> list[TensorBinding]:
    """onnx2tf names each .tflite file's outputs its own way: bind them by value on one sample."""
    with TfliteRunner(path, inputs, []) as probe:
        return bind_outputs(output_specs, probe.run_raw(sample.feeds), expected[sample.name])
