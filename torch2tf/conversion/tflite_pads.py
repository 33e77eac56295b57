"""A PAD of a narrow channel-last tensor → the same PAD over whole rows, between two RESHAPEs.

When the W axis is padded, XNNPACK pads a [N, H, W, C] tensor one pixel (a C-long run) at a time, so
its cost follows the pixel count, not the bytes. Seen as [N, H, W·C] the same PAD pads whole rows
(C·left and C·right elements of the last axis), far faster even with the RESHAPEs on either side
(XNNPACK copies the tensor for each). A PAD read only by convolutions is left alone (XNNPACK fuses it
into them), unless they are hybrid ones (int8 filter over float input: dynamic-range files), which
XNNPACK runs behind a quantize of their input and does not fuse. A PAD whose channels already make
long runs is left alone too (past MAX_RUN_BYTES the plain PAD was as fast or faster). onnx2tf writes
such PADs in front of every MaxPool/AveragePool whose ONNX pads TensorFlow's SAME cannot express, and
in front of every strided convolution. README "Speed edits: the measurements behind them" has the figures.
This is a flatbuffer edit of the written .tflite file (the tensors are channel-last only there); the
parity check of each file runs after it.
"""
from __future__ import annotations

from pathlib import Path

from torch2tf.errors import ConversionError
from torch2tf.tflite.edit import int32_constant, integer_constant
from torch2tf.tflite.flatbuffer import read_model, read_view, readers, schema, write_model
from torch2tf.tflite.opcodes import (
    CONV_2D,
    DEPTHWISE_CONV_2D,
    PAD,
    PADV2,
    RESHAPE,
    builtin_code,
    opcode_index,
    operator_builtin,
)

FUSED_READERS = {CONV_2D, DEPTHWISE_CONV_2D}  # XNNPACK folds a zero PAD into them (not hybrid ones)
INTEGER_TYPES, FLOAT_TYPES = {3, 9}, {0, 1}  # TensorType: UINT8, INT8; FLOAT32, FLOAT16
MAX_RUN_BYTES = 128  # a pixel's channels up to this long are padded faster as whole rows
ITEM_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 7: 2, 9: 1}  # TensorType → bytes (FLOAT32, FLOAT16, INT32, UINT8, ...)


def widen_narrow_pads(path: Path) -> str:
    """Rewrite ``path`` in place; a note when a PAD changed, else ""."""
    try:
        if not _has_pad(read_view(path, ConversionError)):
            return ""
    except Exception as exc:  # flatbuffers raises from deep inside on a damaged file
        raise ConversionError(f"cannot read {path.name} to rewrite its PADs: {str(exc).splitlines()[0]}") from exc
    model = read_model(path, ConversionError, "rewrite its PADs")
    widened = 0
    for graph in model.subgraphs:
        reading = readers(graph)
        operators = []
        for op in graph.operators or []:
            plan = _plan(model, graph, op, reading)
            if plan is None:
                operators.append(op)
                continue
            operators.extend(_widened(model, graph, op, *plan))
            widened += 1
        graph.operators = operators
    if not widened:
        return ""
    write_model(model, path)
    return f"narrow pads (TFLite): {widened} PAD(s) of few channels padded as whole rows"


def _has_pad(model) -> bool:
    codes = (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))
    return any(builtin_code(c) in (PAD, PADV2) for c in codes)


def _plan(model, graph, op, readers) -> tuple | None:
    """(N, H, W, C, paddings [[top, bottom], [left, right]]) when ``op`` is a PAD worth widening."""
    if operator_builtin(model, op) not in (PAD, PADV2) or len(op.inputs) < 2:
        return None
    source = graph.tensors[op.inputs[0]]
    shape = [int(d) for d in source.shape] if source.shape is not None else []
    signature = [int(d) for d in source.shapeSignature] if source.shapeSignature is not None else shape
    pads = integer_constant(model, graph.tensors[op.inputs[1]])
    if len(shape) != 4 or min(signature[1:], default=-1) < 1 or pads is None or pads.shape != (4, 2):
        return None
    if pads[0].any() or pads[3].any() or not pads[2].any() or (pads < 0).any():
        return None
    if shape[3] * ITEM_BYTES.get(source.type, 8) > MAX_RUN_BYTES:
        return None
    users = readers.get(int(op.outputs[0]), [])
    if users and all(_fused_into(model, graph, user) for user in users):
        return None
    return signature[0], shape[1], shape[2], shape[3], pads[1:3]


def _fused_into(model, graph, user) -> bool:
    """Whether XNNPACK folds a PAD into this reader: a convolution, unless a hybrid one."""
    if operator_builtin(model, user) not in FUSED_READERS or len(user.inputs) < 2:
        return False
    data, weights = (graph.tensors[int(i)].type for i in user.inputs[:2])
    return not (data in FLOAT_TYPES and weights in INTEGER_TYPES)


def _widened(model, graph, op, batch: int, height: int, width: int, channels: int, pads) -> list:
    """RESHAPE to [N, H, W·C], the PAD over rows, RESHAPE back into the PAD's old output."""
    (top, bottom), (left, right) = (int(p) for p in pads[0]), (int(p) for p in pads[1])
    source, target = int(op.inputs[0]), int(op.outputs[0])
    rows = [batch, height, width * channels]
    padded_rows = [batch, height + top + bottom, (width + left + right) * channels]
    padded = [batch, height + top + bottom, width + left + right, channels]
    rows_in, rows_out = _like(graph, source, rows), _like(graph, target, padded_rows)
    row_pads = [[0, 0], [top, bottom], [left * channels, right * channels]]
    op.inputs = [rows_in, int32_constant(model, graph, row_pads, f"t2tf_pads_{rows_in}"), *op.inputs[2:]]
    op.outputs = [rows_out]
    return [_reshape(model, graph, source, rows_in, rows), op,
            _reshape(model, graph, rows_out, target, padded)]


def _like(graph, index: int, shape: list[int]) -> int:
    """A new tensor with ``index``'s type and quantization, of ``shape`` (-1: a dynamic batch)."""
    old = graph.tensors[index]
    new = schema().TensorT()
    new.type, new.quantization, new.buffer = old.type, old.quantization, 0
    new.shape = [int(old.shape[0]), *shape[1:]]
    if shape[0] < 0:
        new.shapeSignature = list(shape)
    new.name = f"t2tf_rows_{len(graph.tensors)}".encode()
    graph.tensors.append(new)
    return len(graph.tensors) - 1


def _reshape(model, graph, source: int, target: int, shape: list[int]):
    fb = schema()
    op = fb.OperatorT()
    op.opcodeIndex = opcode_index(model, RESHAPE, 1)
    op.inputs, op.outputs = [source, int32_constant(model, graph, shape, f"t2tf_shape_{target}")], [target]
    op.builtinOptionsType = fb.BuiltinOptions.ReshapeOptions
    op.builtinOptions = fb.ReshapeOptionsT()
    op.builtinOptions.newShape = list(shape)
    return op

