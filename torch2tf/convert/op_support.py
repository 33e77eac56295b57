"""The operator support table, measured by scripts/op_support/ and shipped as package data.

Statuses: ``builtin`` (TFLite builtin ops only, and it runs), ``flex`` (TFLite needs SELECT_TF_OPS),
``tf_only`` (the SavedModel converts, TFLite does not), ``unsupported`` (onnx2tf fails).
"""
from __future__ import annotations

import json
from importlib import resources

STATUSES = ("builtin", "flex", "tf_only", "unsupported")
BLOCKING = {"unsupported"}
BLOCKING_BUILTINS_ONLY = {"unsupported", "flex", "tf_only"}
TABLE_FILE = "op_support.json"


def load_support_table() -> dict:
    """The shipped table: {"generated_with": {...}, "ops": {op: {"status", "note", ...}}}."""
    text = resources.files("torch2tf.data").joinpath(TABLE_FILE).read_text()
    return json.loads(text)
