"""Edits of a .tflite file's object form: new constants, constants read back, float constants rounded."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from torch2tf.errors import ArtifactLoadError
from torch2tf.tflite.flatbuffer import read_model, schema, write_model
from torch2tf.tflite.shape_constants import half_cannot_hold, shape_arithmetic_constants

HALF_MAX = float(np.finfo(np.float16).max)


def int32_constant(model, graph, values, name: str) -> int:
    """A new int32 constant tensor in ``graph`` holding ``values`` (its own buffer); its index."""
    fb = schema()
    array = np.asarray(values, np.int32)
    buffer = fb.BufferT()
    buffer.data = np.frombuffer(array.tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = fb.TensorT()
    tensor.type, tensor.shape, tensor.buffer = fb.TensorType.INT32, list(array.shape), len(model.buffers) - 1
    tensor.name = name.encode()
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def constant_buffer(model, tensor):
    """The buffer holding ``tensor``'s constant data, or None when it is computed (or fed)."""
    buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    if buffer is None or not (buffer.data is not None and len(buffer.data) > 0 or bool(buffer.offset)):
        return None
    return buffer


def integer_constant(model, tensor) -> np.ndarray | None:
    """An int32/int64 constant's values in its shape (a PAD's paddings, a RESHAPE's shape); else None."""
    buffer = constant_buffer(model, tensor)
    if buffer is None or buffer.data is None or tensor.type not in (2, 4):  # TensorType INT32, INT64
        return None
    values = np.frombuffer(bytes(buffer.data), np.int32 if tensor.type == 2 else np.int64)
    return values.reshape([int(d) for d in tensor.shape])


def with_half_precision_constants(source: Path, destination: Path) -> Path:
    """Write ``source`` with its float32 constant buffers rounded to float16 (still stored as float32),
    clamped to float16's range as the TFLite converter clamps them; shape arithmetic's constants and the
    small ones half precision cannot hold stay exact, as in the fp16 file."""
    model = read_model(source, ArtifactLoadError, "round its constants to half precision")
    rounded = set()
    for graph in model.subgraphs:
        exact = shape_arithmetic_constants(model, graph)  # the fp16 file keeps them exact too
        for index, tensor in enumerate(graph.tensors):
            if index in exact:
                continue
            buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
            if tensor.type != schema().TensorType.FLOAT32 or buffer is None or buffer.data is None \
                    or not len(buffer.data) or tensor.buffer in rounded:
                continue
            values = np.frombuffer(bytes(buffer.data), np.float32)
            if half_cannot_hold(values):  # the fp16 file keeps it at float32 (shape_constants)
                continue
            values = np.clip(values, -HALF_MAX, HALF_MAX)
            buffer.data = np.frombuffer(values.astype(np.float16).astype(np.float32).tobytes(), np.uint8)
            rounded.add(tensor.buffer)
    return write_model(model, destination)
