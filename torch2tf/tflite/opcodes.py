"""Operator codes: which builtin an operator is, its name, and an opcode to point a new operator at."""
from __future__ import annotations

from functools import cache

from torch2tf.tflite.flatbuffer import schema, text

# BuiltinOperator codes this package's callers edit or look for
CONV_2D, DEPTHWISE_CONV_2D, RESHAPE, PAD, TRANSPOSE, PADV2 = 3, 4, 22, 34, 39, 60


def builtin_code(code) -> int:
    """An OperatorCode's builtin (codes past 127 live only in ``builtinCode``); object or view form."""
    if hasattr(code, "BuiltinCode"):
        return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def custom_code(code) -> str:
    """The custom operator's name ("" for a builtin); object or view form."""
    value = code.CustomCode() if hasattr(code, "CustomCode") else code.customCode
    return text(value) if value else ""


@cache
def builtin_names() -> dict[int, str]:
    return {v: k for k, v in vars(schema().BuiltinOperator).items() if not k.startswith("_")}


def code_name(code) -> str:
    """What an operator code is called: its custom name, or the builtin's (``ADD``, ``CONV_2D``)."""
    builtin = builtin_code(code)
    return custom_code(code) or builtin_names().get(builtin, f"BUILTIN_{builtin}")


def operator_builtin(model, op) -> int:
    """The builtin of operator ``op`` of ``model`` (object form)."""
    return builtin_code(model.operatorCodes[op.opcodeIndex])


def opcode_index(model, builtin: int, version: int) -> int:
    """The index of an operator code for ``builtin`` at ``version`` or later, added when the file has none."""
    for i, code in enumerate(model.operatorCodes):
        if builtin_code(code) == builtin and code.version >= version:
            return i
    code = schema().OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = builtin
    code.version = version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1
