"""Small pieces for editing a .tflite flatbuffer in its object form (``flatbuffer_utils.read_model``):
an operator code to point a new operator at, and an int32 constant tensor. Used by the signature
(tflite_signature.py) and the PAD edit (tflite_pads.py)."""
from __future__ import annotations

import numpy as np


def builtin_code(code) -> int:
    """An OperatorCode's builtin operator (codes past 127 live only in ``builtinCode``)."""
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def opcode_index(model, builtin: int, version: int, schema) -> int:
    """The index of an operator code for ``builtin`` at ``version`` or later, added when the file has none."""
    for i, code in enumerate(model.operatorCodes):
        if builtin_code(code) == builtin and code.version >= version:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = builtin
    code.version = version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def int32_constant(model, graph, values, name: str, schema) -> int:
    """A new int32 constant tensor in ``graph`` holding ``values`` (its own buffer); its index."""
    array = np.asarray(values, np.int32)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(array.tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.type, tensor.shape, tensor.buffer = schema.TensorType.INT32, list(array.shape), len(model.buffers) - 1
    tensor.name = name.encode()
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1
