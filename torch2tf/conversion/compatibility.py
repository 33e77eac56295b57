"""Operator compatibility: what the graph onnx2tf will see contains, and what the support table says.

The inventory is taken of the graph after our onnxsim passes and rewrites (constants folded, masks
rewritten, GELUs in fusable form), not of the raw export, and lists each op type with its domain,
opset, count and where in the PyTorch code its nodes came from (read off the export, which keeps
that metadata). Only ops that fail in every context (``unsupported``: onnx2tf has no converter)
block conversion early; with --tflite-builtins-only, ``flex`` and ``tf_only`` do too.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch2tf.conversion.onnx_source import node_source
from torch2tf.conversion.op_support import BLOCKING, BLOCKING_BUILTINS_ONLY, load_support_table, status_of
from torch2tf.records import Operator

MAX_LOCATIONS = 3
ADVICE = {
    "unsupported": "onnx2tf has no converter for it: rewrite that part of the model with supported ops, "
                   "or export it differently",
    "flex": "TFLite needs the Flex (SELECT_TF_OPS) delegate for it; fine on servers, often not on mobile",
    "tf_only": "the SavedModel works, TFLite does not",
    "unknown": "not in the measured support table; conversion will tell",
    "uncertain": "failed as a small case but may convert in context; conversion will tell",
}


@dataclass
class OpUse:
    op_type: str
    domain: str
    opset: int
    count: int = 0
    status: str = "unknown"
    note: str = ""
    locations: list[str] = field(default_factory=list)  # "module @ file:line"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Compatibility:
    ops: list[OpUse]
    builtins_only: bool = False

    @property
    def blocking(self) -> list[OpUse]:
        statuses = BLOCKING_BUILTINS_ONLY if self.builtins_only else BLOCKING
        return [op for op in self.ops if op.status in statuses]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def table(self) -> str:
        """A plain-text table for the terminal: op, count, status, where."""
        rows = [("op", "count", "status", "where in the PyTorch code")]
        for op in self.ops:
            name = op.op_type if not op.domain else f"{op.domain}.{op.op_type}"
            rows.append((name, str(op.count), op.status, "; ".join(op.locations) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)

    def blocking_summary(self) -> str:
        lines = []
        for op in self.blocking:
            where = f" at {op.locations[0]}" if op.locations else ""
            note = f" ({op.note})" if op.note else ""
            lines.append(f"{op.op_type}{where}: {op.status}{note} — {ADVICE.get(op.status, '')}")
        return "\n".join(lines)


def inventory(onnx_path: Path, builtins_only: bool = False, source_path: Path | None = None) -> Compatibility:
    """The ops of ``onnx_path``; locations come from the same-named nodes of ``source_path`` (the export)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    sources = {n.name: n for n in onnx.load(str(source_path or onnx_path), load_external_data=False).graph.node}
    opsets = {o.domain: o.version for o in model.opset_import}
    table = load_support_table()["ops"]
    uses: OrderedDict[tuple[str, str], OpUse] = OrderedDict()
    for node in model.graph.node:
        key = (node.domain, node.op_type)
        use = uses.get(key)
        if use is None:
            use = uses[key] = OpUse(node.op_type, node.domain, opsets.get(node.domain, opsets.get("", 0)))
            entry = table.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if entry:
                use.status, use.note = status_of(entry)
        use.count += 1
        if len(use.locations) < MAX_LOCATIONS:
            info = node_source(sources.get(node.name, node))
            where = " @ ".join(x for x in (info.get("module", ""), info.get("source", "")) if x)
            if where and where not in use.locations:
                use.locations.append(where)
    return Compatibility(sorted(uses.values(), key=lambda u: (-u.count, u.op_type)), builtins_only)


def operators_json(compat: Compatibility) -> tuple[Operator, ...]:
    """report.json "operators" entries (schema: op_type, count, status, note; plus where)."""
    return tuple(Operator(op.op_type, op.count, op.status, op.note, op.domain, op.opset, tuple(op.locations))
                 for op in compat.ops)
