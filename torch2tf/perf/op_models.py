"""One-operator models (and operator pairs) cut out of a .tflite file: how ``bench --profile`` times LiteRT op by op.

LiteRT's Python interpreter has no per-operator profiler (the C++ ``benchmark_model
--enable_op_profiling`` is not in the pip wheels), so each operator of the main subgraph becomes a
model of its own: the operator, its constant inputs (weights, shapes) and plain inputs for the rest,
with the concrete shapes a full run gave them. Fed the values it saw in that run, it runs on the
same kernels the full model uses — XNNPACK's when XNNPACK takes the operator. An operator whose
output has one reader is also cut out with that reader: XNNPACK fuses some pairs (a PAD into the
convolution after it), so alone the operator would look dearer than it is inside the graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch2tf.errors import ArtifactLoadError
from torch2tf.tflite.cut import cut_model
from torch2tf.tflite.flatbuffer import read_model
from torch2tf.tflite.opcodes import code_name

DESCRIPTION = b"cut out by torch2tf bench --profile"

# Operators that call other subgraphs or keep state between runs cannot be cut out alone.
NOT_ALONE = {"WHILE", "IF", "CALL_ONCE", "CALL", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
             "STABLEHLO_COMPOSITE"}


@dataclass
class OpModel:
    index: int  # position in the main subgraph's operator list (execution order)
    op_type: str
    content: bytes | None  # the one-operator .tflite; None when the operator cannot run alone
    inputs: list[int]  # tensor indices (of the full model) to feed, in the one-op model's input order
    why_not: str = ""
    consumer: int | None = None  # the one operator reading this one's output, when there is exactly one
    pair: bytes | None = None  # this operator and its consumer, cut out together (what XNNPACK may fuse)
    pair_inputs: list[int] = field(default_factory=list)


def op_models(path: Path, shapes: dict[int, list[int]]) -> list[OpModel]:
    """Every operator of subgraph 0 as a one-operator model; ``shapes`` holds each tensor's concrete shape
    in a full run (tensor index → shape)."""
    model = read_model(path, ArtifactLoadError, "cut out its operators")
    subgraph = model.subgraphs[0]
    result = []
    for index, op in enumerate(subgraph.operators):
        op_type = code_name(model.operatorCodes[op.opcodeIndex])
        why_not = _why_not_alone(model, subgraph, op, op_type)
        if why_not:
            result.append(OpModel(index, op_type, None, [], why_not))
            continue
        content, feeds = cut_model(model, subgraph, [op], shapes, DESCRIPTION)
        result.append(OpModel(index, op_type, content, feeds))
    readers: dict[int, list[int]] = {}
    for k, op in enumerate(subgraph.operators):
        for i in set(op.inputs):
            readers.setdefault(int(i), []).append(k)
    graph_outputs = {int(i) for i in subgraph.outputs}
    for op_model, op in zip(result, subgraph.operators):
        consumer = _sole_consumer(op, readers, graph_outputs, result)
        if op_model.content and consumer is not None:
            op_model.consumer = consumer
            op_model.pair, op_model.pair_inputs = cut_model(model, subgraph, [op, subgraph.operators[consumer]],
                                                           shapes, DESCRIPTION)
    return result


def _sole_consumer(op, readers: dict[int, list[int]], graph_outputs: set[int], cut: list[OpModel]) -> int | None:
    """The one operator that reads this operator's (single) output, when it can run alone too."""
    if len(op.outputs) != 1 or int(op.outputs[0]) in graph_outputs:
        return None
    found = readers.get(int(op.outputs[0]), [])
    return found[0] if len(found) == 1 and cut[found[0]].content else None


def _why_not_alone(model, subgraph, op, op_type: str) -> str:
    if op_type in NOT_ALONE:
        return "calls another subgraph or keeps state"
    if op.intermediates is not None and len(op.intermediates):
        return "has intermediate tensors (a fused recurrent kernel)"
    if any(i >= 0 and subgraph.tensors[i].isVariable for i in op.inputs):
        return "reads a variable tensor"
    if model.operatorCodes[op.opcodeIndex].customCode:
        return "custom operator"
    return ""
