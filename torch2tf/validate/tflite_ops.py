"""The operators a .tflite file really contains, read from its flatbuffer (no interpreter needed).

Builtin ops run everywhere; ``Flex*`` custom ops need the SELECT_TF_OPS (Flex) delegate, which
mobile apps often cannot ship; other custom ops need a registered kernel.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from torch2tf.errors import ArtifactLoadError
from torch2tf.records import TfliteSummary


@dataclass
class TfliteOps:
    counts: Counter = field(default_factory=Counter)  # op name → number of uses
    flex: list[str] = field(default_factory=list)
    custom: list[str] = field(default_factory=list)

    @property
    def transposes(self) -> int:
        return self.counts.get("TRANSPOSE", 0)

    def status_of(self, name: str) -> str:
        return "flex" if name in self.flex else "custom" if name in self.custom else "builtin"

    def summary(self) -> TfliteSummary:
        return TfliteSummary(dict(sorted(self.counts.items())), tuple(sorted(self.flex)), tuple(sorted(self.custom)),
                             self.transposes, not self.flex and not self.custom)


def read_tflite_ops(path: Path) -> TfliteOps:
    from ai_edge_litert import schema_py_generated as schema

    data = Path(path).read_bytes()
    if data[4:8] != b"TFL3":  # the TFLite schema's flatbuffer file identifier
        raise ArtifactLoadError(f"{path} is not a readable TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = schema.Model.GetRootAs(data, 0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        codes = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            custom = code.CustomCode()
            codes.append(custom.decode() if custom else names.get(builtin, f"BUILTIN_{builtin}"))
        ops = TfliteOps()
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for o in range(subgraph.OperatorsLength()):
                ops.counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    except Exception as exc:  # a truncated or foreign file raises from deep inside flatbuffers
        raise ArtifactLoadError(f"{path} is not a readable TFLite flatbuffer: {exc}") from exc
    for i in range(model.OperatorCodesLength()):
        custom = model.OperatorCodes(i).CustomCode()
        if custom:
            (ops.flex if custom.decode().startswith("Flex") else ops.custom).append(custom.decode())
    return ops
