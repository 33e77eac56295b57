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
from torch2tf.tflite.flatbuffer import read_view
from torch2tf.tflite.opcodes import code_name, custom_code


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
    """Every operator of every subgraph, counted by name; Flex and other custom codes listed."""
    model = read_view(path, ArtifactLoadError)
    try:
        codes = [code_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
        ops = TfliteOps()
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for o in range(subgraph.OperatorsLength()):
                ops.counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    except Exception as exc:  # a truncated or foreign file raises from deep inside flatbuffers
        raise ArtifactLoadError(f"{path} is not a readable TFLite flatbuffer: {exc}") from exc
    for i in range(model.OperatorCodesLength()):
        custom = custom_code(model.OperatorCodes(i))
        if custom:
            (ops.flex if custom.startswith("Flex") else ops.custom).append(custom)
    return ops
