"""The operator support table, measured by scripts/op_support/ and shipped as package data.

Measured statuses: ``builtin`` (TFLite builtin ops only, and it runs), ``flex`` (TFLite needs
SELECT_TF_OPS), ``tf_only`` (the SavedModel converts, TFLite does not), ``unsupported`` (onnx2tf
fails on every case measured). The cases are small graphs, so an op that fails there can still
convert inside a real model (a Range whose inputs fold to constants does): only an op onnx2tf has
no converter for at all fails in every context. ``status_of`` turns a table entry into the status
a graph's op gets: ``unsupported`` for those, ``uncertain`` for the others that failed.
"""
from __future__ import annotations

import json
from importlib import resources

STATUSES = ("builtin", "flex", "tf_only", "unsupported")
BLOCKING = {"unsupported"}
BLOCKING_BUILTINS_ONLY = {"unsupported", "flex", "tf_only"}
UNCERTAIN = "uncertain"
TABLE_FILE = "op_support.json"


def load_support_table() -> dict:
    """The shipped table: {"generated_with": {...}, "ops": {op: {"status", "note", ...}}}."""
    text = resources.files("torch2tf.data").joinpath(TABLE_FILE).read_text()
    return json.loads(text)


def status_of(entry: dict) -> tuple[str, str]:
    """(status, note) of an op in a graph, from its table entry."""
    status, note = entry["status"], entry.get("note", "")
    if status == "unsupported" and entry.get("converter", True):
        return UNCERTAIN, f"failed as a small case ({note[:120]}); it may convert in context — the conversion will tell"
    return status, note
