"""The input onnx2tf checks its own choices on, where it would otherwise feed ones.

onnx2tf runs onnxruntime on a sample input and, for MatMul, Conv, Reshape, LayerNorm and others,
keeps the transposition of their inputs whose TensorFlow result comes closest to onnxruntime's. For
4-D inputs the sample is an image (ours, seeded: see onnx_to_tf._child_main); for every other input it
is ``np.ones``. A constant signal is degenerate: the HuBERT corpus model's GroupNorm over a constant
waveform has a variance of ~0, TensorFlow's and onnxruntime's rounding differ by 1/√ε there, and
onnx2tf picked the transposed weight for the first attention projection (a square MatMul), off by 0.65.
So when the inputs are all of rank ≤ 2 (no layout of onnx2tf's to match) and any is float, the float
ones get seeded standard-normal values and the others stay ones (token ids, masks: valid as before).
onnx2tf takes them as ``custom_input_op_name_np_data_path``, which must then name every input.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_SAMPLE_RANK = 2  # rank 3-5 inputs are transposed by onnx2tf (NCW → NWC …): their samples stay onnx2tf's
# Part of the conversion cache's key: a conversion made on other samples (before this rule, onnx2tf's ones)
# may have chosen other transpositions, so it is not reused. Change it with the rule.
SAMPLES_RULE = "float rank<=2: seeded standard normal; others: onnx2tf's own"


def validation_inputs(onnx_path: str, input_shapes: dict[str, list[int | None]], batch: int | None, seed: int,
                      directory: Path) -> list[list] | None:
    """[[input name, .npy path, mean 0, std 1], …] for every input, or None to leave onnx2tf's own samples."""
    import onnx

    graph = onnx.load(onnx_path, load_external_data=False).graph
    constants = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    elem_types = {i.name: i.type.tensor_type.elem_type for i in inputs}
    shapes = {i.name: input_shapes.get(i.name) or [d.dim_value or None for d in i.type.tensor_type.shape.dim]
              for i in inputs}
    if not inputs or any(len(s) > MAX_SAMPLE_RANK for s in shapes.values()):
        return None
    if not any(elem_types[n] == onnx.TensorProto.FLOAT for n in shapes):
        return None
    concrete = {n: [batch or 1] + list(s[1:]) if s else [] for n, s in shapes.items()}
    if any(d is None for s in concrete.values() for d in s):
        return None  # a dynamic length beyond the batch: no shape to sample
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    params = []
    for index, (name, shape) in enumerate(concrete.items()):
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_types[name])
        values = rng.standard_normal(shape).astype(dtype) if elem_types[name] == onnx.TensorProto.FLOAT \
            else np.ones(shape, dtype)
        path = directory / f"validation-{index}.npy"
        np.save(path, values)
        params.append([name, str(path), 0.0, 1.0])
    return params
