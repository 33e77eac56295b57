"""Conversion strategies: ways to get onnx2tf to convert a graph, and the one request builder.

The raw tools fail on many real models: a dynamic batch breaks onnx2tf on attention with masks,
recurrent layers and transposed convolutions; onnxsim sometimes hurts; onnx2tf's NCW→NWC input
transposition breaks sequence models. Each strategy changes one of these. Which one is used is
decided by the pipeline's ladder: a strategy only counts when its artifacts match onnxruntime.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from torch2tf.cache import Cache
from torch2tf.conversion.input_dims import fix_input_dims
from torch2tf.conversion.onnx_to_tf import Onnx2TfRequest, copy_onnx
from torch2tf.conversion.rewrites import apply_rewrites
from torch2tf.conversion.simplify import simplify_in_place
from torch2tf.errors import ConversionError
from torch2tf.records import RewriteNote
from torch2tf.specs import TensorSpec, shared_dims

RECURRENT_OPS = {"LSTM", "GRU", "RNN"}
# onnx2tf's strict mode (on by default) validates these ops against onnxruntime by trying every
# permutation of their inputs' axes: (rank!)² conversions of a dummy model per node. Up to rank 4
# that is at most 576 tries; a rank-5 tensor (e.g. grouped-query attention's repeat_kv) makes it
# 14,400 and a conversion runs for tens of minutes. Above STRICT_MAX_RANK strict mode is off.
STRICT_SEARCH_OPS = {"BatchNormalization", "Concat", "Conv", "ConvInteger", "ConvTranspose", "DepthToSpace", "Einsum",
                     "Expand", "GatherElements", "InstanceNormalization", "MatMul", "Reshape", "Tile"}
STRICT_MAX_RANK = 4


@dataclass(frozen=True)
class Strategy:
    name: str
    static_batch: bool = False  # fix the batch to 1 for onnx2tf; the signature maps over rows
    pin_dims: bool = False  # fix the named dynamic axes ({seq}) at their largest validated size
    use_onnxsim: bool = True
    keep_input_layout: bool = False  # no NC…→N…C transposition of rank 3-5 inputs
    unroll_rnn: bool = False  # unroll LSTM/GRU/RNN loops: TFLite builtins instead of Flex TensorList ops
    strict: bool = True  # onnx2tf's strict mode (its accuracy correction by axis-permutation search)


@dataclass(frozen=True)
class GraphFacts:
    """What the strategies depend on, read off the graph onnx2tf will see."""

    op_types: frozenset[str] = frozenset()
    search_rank: int = 0  # the highest tensor rank among ops strict mode searches permutations for


def strategies_for(specs: list[TensorSpec], facts: GraphFacts = GraphFacts()) -> list[Strategy]:
    """The strategies that make sense for these inputs and this graph, cheapest and most native first.

    With named dynamic axes ({seq}) the first strategies keep them dynamic (with the batch, then with a
    fixed batch the signature maps over); the later ones (``…+fixed-axes``) pin them at their largest
    validated size, as if the input had been declared so, and the report says which and why.
    """
    dynamic = any(s.dynamic_batch for s in specs)
    if any(s.dims for s in specs):
        return _dynamic_axes_strategies(specs, facts, dynamic)
    has_channels = any(3 <= len(s.shape) <= 5 for s in specs)
    # A recurrent loop becomes a TensorList While loop, which TFLite runs only with the Flex
    # delegate: unroll it (the sequence length is static) so every artifact runs everywhere.
    unroll = bool(RECURRENT_OPS & facts.op_types)
    strict = facts.search_rank <= STRICT_MAX_RANK
    suffix = ("+rnn-unroll" if unroll else "") + ("" if strict else "+no-strict")
    common = dict(unroll_rnn=unroll, strict=strict)
    strategies = [Strategy(("dynamic-batch" if dynamic else "static-shape") + suffix, **common)]
    if dynamic:
        strategies.append(Strategy("static-batch" + suffix, static_batch=True, **common))
    strategies.append(Strategy(strategies[-1].name + "+no-onnxsim", static_batch=dynamic, use_onnxsim=False, **common))
    if has_channels:
        strategies.append(Strategy(strategies[-2].name + "+keep-layout", static_batch=dynamic, keep_input_layout=True,
                                   **common))
    return strategies


def _dynamic_axes_strategies(specs: list[TensorSpec], facts: GraphFacts, dynamic: bool) -> list[Strategy]:
    plain = list(strategies_for([s.pinned({n: 1 for n in shared_dims(specs)}) for s in specs], facts))
    suffix = plain[0].name.removeprefix("dynamic-batch").removeprefix("static-shape")
    common = dict(unroll_rnn=plain[0].unroll_rnn, strict=plain[0].strict)
    strategies = [Strategy("dynamic-shape" + suffix, **common)]
    if dynamic:
        strategies.append(Strategy("static-batch+dynamic-axes" + suffix, static_batch=True, **common))
    return strategies + [replace(s, name=s.name + "+fixed-axes", pin_dims=True) for s in plain]


def graph_facts(path: Path) -> GraphFacts:
    """Op types and the strict-mode search rank of the ONNX graph at ``path``."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    graph = model.graph
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in list(graph.input) + list(graph.value_info)
             + list(graph.output)}
    ranks.update({i.name: len(i.dims) for i in graph.initializer})
    search = [ranks.get(t, 0) for n in graph.node if n.op_type in STRICT_SEARCH_OPS for t in [*n.input, *n.output]]
    return GraphFacts(frozenset(n.op_type for n in graph.node), max(search, default=0))


def strategy_from_json(data: dict) -> Strategy:
    """The Strategy recorded in manifest.json (extra keys, such as the exporter, ignored)."""
    return Strategy(**{k: v for k, v in data.items() if k in Strategy.__dataclass_fields__})


def kept_layout_inputs(strategy: Strategy, specs: list[TensorSpec]) -> list[str]:
    return [s.name for s in specs if strategy.keep_input_layout and 3 <= len(s.shape) <= 5]


def prepare_onnx2tf_input(onnx_path: Path, directory: Path, strategy: Strategy,
                          specs: list[TensorSpec], cache: Cache | None = None) -> tuple[Path, list[RewriteNote]]:
    """The exact graph onnx2tf gets for ``strategy``: a copy, onnxsim'd if asked, then rewritten."""
    source = copy_onnx(onnx_path, directory)
    static = {s.name: [1 if d is None else d for d in s.shape] for s in specs} if strategy.static_batch else None
    named = any(s.dims for s in specs)
    if named or strategy.pin_dims:
        # named dynamic axes: the graph's own inputs say which dims are fixed (onnxsim cannot keep some dynamic)
        fix_input_dims(source, {s.name: [1 if strategy.static_batch and i == 0 and d is None else d
                                         for i, d in enumerate(s.shape)] for s in strategy_specs(strategy, specs)})
        static = None if named else static
    if strategy.use_onnxsim:
        simplify_in_place(source, static, cache=cache)
    return source, apply_rewrites(source)


def strategy_specs(strategy: Strategy, specs: list[TensorSpec]) -> list[TensorSpec]:
    """The inputs as this strategy converts them: named dims pinned at their largest validated size, or as given."""
    if not strategy.pin_dims:
        return specs
    return [s.pinned({name: dim.sizes[-1] for name, dim in shared_dims(specs).items()}) for s in specs]


class PreparedGraphs:
    """Graphs already prepared in this run: onnxsim and the rewrites run once per export and preparation."""

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache = cache or Cache(None)
        self._done: dict[tuple[str, bool, bool, bool], tuple[Path, list[RewriteNote]] | ConversionError] = {}

    def prepare(self, onnx_path: Path, directory: Path, strategy: Strategy,
                specs: list[TensorSpec]) -> tuple[Path, list[RewriteNote]]:
        key = (str(onnx_path), strategy.use_onnxsim, strategy.static_batch, strategy.pin_dims)
        if key not in self._done:
            try:
                self._done[key] = prepare_onnx2tf_input(onnx_path, directory, strategy, specs, self.cache)
            except ConversionError as exc:
                self._done[key] = exc
                raise
            return self._done[key]
        done = self._done[key]
        if isinstance(done, ConversionError):
            raise done
        return copy_onnx(done[0], directory), list(done[1])


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
    specs = strategy_specs(strategy, specs)
    return Onnx2TfRequest(onnx_path=str(source), output_dir=str(output_dir),
                          static_batch=1 if strategy.static_batch else None, use_onnxsim=False,
                          disable_strict_mode=not strategy.strict,
                          keep_shape_input_names=kept_layout_inputs(strategy, specs),
                          input_shapes={s.name: list(s.shape) for s in specs}, seed=seed,
                          shape_hints={s.name: list(s.concrete_shape(1)) for s in specs if s.dims},
                          unroll_rnn=strategy.unroll_rnn, interrupt_at=list(extras.interrupt_at),
                          quantize=extras.quantize, calibration=dict(extras.calibration))
