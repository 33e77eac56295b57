"""Conversion strategies: ways to get onnx2tf to convert a graph, and the one request builder.

The raw tools fail on many real models: a dynamic batch breaks onnx2tf on attention with masks,
recurrent layers and transposed convolutions; onnxsim sometimes hurts; onnx2tf's NCW→NWC input
transposition breaks sequence models. Each strategy changes one of these. Which one is used is
decided by the pipeline's ladder: a strategy only counts when its artifacts match onnxruntime.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch2tf.convert.onnx_to_tf import Onnx2TfRequest, copy_onnx
from torch2tf.convert.rewrites import apply_rewrites
from torch2tf.convert.simplify import simplify_in_place
from torch2tf.specs import TensorSpec

RECURRENT_OPS = {"LSTM", "GRU", "RNN"}


@dataclass(frozen=True)
class Strategy:
    name: str
    static_batch: bool = False  # fix the batch to 1 for onnx2tf; the signature maps over rows
    use_onnxsim: bool = True
    keep_input_layout: bool = False  # no NC…→N…C transposition of rank 3-5 inputs
    unroll_rnn: bool = False  # unroll LSTM/GRU/RNN loops: TFLite builtins instead of Flex TensorList ops


def strategies_for(specs: list[TensorSpec], op_types: set[str] = frozenset()) -> list[Strategy]:
    """The strategies that make sense for these inputs and operators, cheapest and most native first."""
    dynamic = any(s.dynamic_batch for s in specs)
    has_channels = any(3 <= len(s.shape) <= 5 for s in specs)
    # A recurrent loop becomes a TensorList While loop, which TFLite runs only with the Flex
    # delegate: unroll it (the sequence length is static) so every artifact runs everywhere.
    unroll = bool(RECURRENT_OPS & set(op_types))
    base = "dynamic-batch" if dynamic else "static-shape"
    rungs = [Strategy(base + ("+rnn-unroll" if unroll else ""), unroll_rnn=unroll)]
    if dynamic:
        rungs.append(Strategy("static-batch" + ("+rnn-unroll" if unroll else ""), static_batch=True,
                              unroll_rnn=unroll))
    rungs.append(Strategy(rungs[-1].name + "+no-onnxsim", static_batch=dynamic, use_onnxsim=False,
                          unroll_rnn=unroll))
    if has_channels:
        rungs.append(Strategy(rungs[-2].name + "+keep-layout", static_batch=dynamic,
                              keep_input_layout=True, unroll_rnn=unroll))
    return rungs


def strategy_from_json(data: dict) -> Strategy:
    """The Strategy recorded in manifest.json (extra keys, such as the exporter, ignored)."""
    return Strategy(**{k: v for k, v in data.items() if k in Strategy.__dataclass_fields__})


def kept_layout_inputs(strategy: Strategy, specs: list[TensorSpec]) -> list[str]:
    return [s.name for s in specs if strategy.keep_input_layout and 3 <= len(s.shape) <= 5]


def prepare_onnx2tf_input(onnx_path: Path, directory: Path, strategy: Strategy,
                          specs: list[TensorSpec]) -> tuple[Path, list[str]]:
    """The exact graph onnx2tf gets for ``strategy``: a copy, onnxsim'd if asked, then rewritten."""
    source = copy_onnx(onnx_path, directory)
    static = {s.name: [1 if d is None else d for d in s.shape] for s in specs} if strategy.static_batch else None
    if strategy.use_onnxsim:
        simplify_in_place(source, static)
    return source, apply_rewrites(source)


@dataclass
class RequestExtras:
    """What some onnx2tf runs add to a strategy: a cut for localization, quantization."""

    interrupt_at: list[str] = field(default_factory=list)
    quantize: str = ""
    calibration: dict[str, str] = field(default_factory=dict)


def onnx2tf_request(strategy: Strategy, source: Path, output_dir: Path, specs: list[TensorSpec], seed: int,
                    extras: RequestExtras | None = None) -> Onnx2TfRequest:
    """The one place an onnx2tf request is made from a strategy (onnxsim already ran: ours, before the rewrites)."""
    extras = extras or RequestExtras()
    return Onnx2TfRequest(onnx_path=str(source), output_dir=str(output_dir),
                          static_batch=1 if strategy.static_batch else None, use_onnxsim=False,
                          keep_shape_input_names=kept_layout_inputs(strategy, specs),
                          input_shapes={s.name: list(s.shape) for s in specs}, seed=seed,
                          unroll_rnn=strategy.unroll_rnn, interrupt_at=list(extras.interrupt_at),
                          quantize=extras.quantize, calibration=dict(extras.calibration))
