"""Float constants of shape arithmetic stay exact in the fp16 file.

With a dynamic length, a graph computes sizes at run time; onnx2tf turns an integer division of a size
(``frames = t // 10``) into float arithmetic, and the TFLite converter into a multiplication by the
reciprocal: ``cast_int(t · 0.1)``. The fp16 conversion rounds that constant like a weight, to
0.0999756: a wav2vec2's 1600 samples gave 159 frames instead of 160 and the file could not run
("XNNPack delegate failed to reshape"). A float constant is shape arithmetic when the op it feeds has
its result cast to an integer; in the fp16 file such a constant takes the fp32 file's exact value (its
DEQUANTIZE removed), and the fp16 file's reference (every other constant rounded) keeps it exact too.

The same holds for a small constant that half precision cannot hold: a LayerNorm's epsilon of 1e-12
(BERT, DeiT, BEiT, MPNet) rounds to 0, and a row of zero variance then gives inf — a transformers DeiT's
fp16 file answered inf for every logit. A constant of at most ``MAX_ELEMENTS`` values any of which
half precision represents with a relative error above ``HALF_LOSS`` (it underflows, is subnormal, or
overflows) keeps its float32 value: a few bytes, the file's weights still half.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from torch2tf.errors import ArtifactLoadError
from torch2tf.tflite.flatbuffer import read_model, readers, schema, write_model
from torch2tf.tflite.opcodes import operator_builtin

CAST, DEQUANTIZE = 53, 6
MAX_ELEMENTS = 16  # shape arithmetic and epsilons are scalars; weights are never this small and are left alone
HALF_LOSS = 1e-3  # float16 rounds a normal value within 2^-11 ≈ 4.9e-4 of it: above this it is not normal


def half_cannot_hold(values: np.ndarray) -> bool:
    """Does rounding to float16 change some value of a small float constant beyond rounding (see HALF_LOSS)?"""
    values = np.asarray(values, np.float32).ravel()
    if values.size > MAX_ELEMENTS:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        half = values.astype(np.float16).astype(np.float32)
        return bool(np.any(np.abs(half - values) > HALF_LOSS * np.abs(values)))


def _cast_to_integer(model, graph, consumers: dict[int, list], op) -> bool:
    """Is ``op``'s result cast to an integer type (it computes a size)?"""
    integer = (schema().TensorType.INT32, schema().TensorType.INT64)
    return any(operator_builtin(model, user) == CAST and graph.tensors[int(user.outputs[0])].type in integer
               for out in op.outputs for user in consumers.get(int(out), []))


def shape_arithmetic_constants(model, graph) -> set[int]:
    """The float constant tensors (or DEQUANTIZE outputs of half ones) of small size feeding ops cast to integers."""
    consumers = readers(graph)
    found = set()
    for op in graph.operators:
        if not _cast_to_integer(model, graph, consumers, op):
            continue
        for index in op.inputs:
            tensor = graph.tensors[int(index)]
            if tensor.type == schema().TensorType.FLOAT32 and int(np.prod(tensor.shape or [1])) <= MAX_ELEMENTS:
                found.add(int(index))
    return found


def exact_shape_constants(fp16_path: Path, fp32_path: Path) -> int:
    """Give the fp16 file's shape-arithmetic constants, and the small ones half precision cannot hold,
    the fp32 file's values (in place); how many.

    The two files' operators are matched by position: the fp16 file's are the fp32 file's with DEQUANTIZE
    operators inserted (tensor names differ by suffixes); when the sequences differ otherwise nothing changes."""
    fp16 = read_model(fp16_path, ArtifactLoadError, "keep its shape constants exact")
    fp32 = read_model(fp32_path, ArtifactLoadError, "read its shape constants")
    graph, reference = fp16.subgraphs[0], fp32.subgraphs[0]
    computing = [op for op in graph.operators if operator_builtin(fp16, op) != DEQUANTIZE]
    if [operator_builtin(fp16, op) for op in computing] != [operator_builtin(fp32, op) for op in reference.operators]:
        return 0
    twins = {id(op): twin for op, twin in zip(computing, reference.operators)}
    consumers = readers(graph)
    arithmetic = shape_arithmetic_constants(fp16, graph)
    changed = 0
    for op in [op for op in graph.operators if operator_builtin(fp16, op) == DEQUANTIZE]:
        out = int(op.outputs[0])
        if int(np.prod(graph.tensors[out].shape or [1])) > MAX_ELEMENTS:
            continue
        values = next((v for user in consumers.get(out, []) if (v := _twin_values(fp32, reference, twins[id(user)],
                                                                                  list(user.inputs).index(out)))), None)
        if values is None or not (out in arithmetic or half_cannot_hold(np.frombuffer(values, np.float32))):
            continue
        buffer = schema().BufferT()
        buffer.data = np.frombuffer(values, np.uint8)
        fp16.buffers.append(buffer)
        graph.tensors[out].buffer = len(fp16.buffers) - 1
        graph.operators.remove(op)
        changed += 1
    if changed:
        write_model(fp16, fp16_path)
    return changed


def _twin_values(fp32, reference, twin, position: int) -> bytes | None:
    """The bytes of the fp32 constant at input ``position`` of ``twin``, or None when it is not a float constant."""
    source = reference.tensors[int(twin.inputs[position])]
    buffer = fp32.buffers[source.buffer] if source.buffer < len(fp32.buffers) else None
    if source.type == schema().TensorType.FLOAT32 and buffer is not None and buffer.data is not None and len(buffer.data):
        return bytes(buffer.data)
    return None
