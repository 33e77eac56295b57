"""Divergence localization: the first ONNX node whose TensorFlow output differs from onnxruntime's.

onnxruntime runs the exported model (the reference) with every intermediate tensor fetched.
The TensorFlow side is rebuilt by onnx2tf from the graph it was given, cut at one tensor
(``output_names_to_interrupt_model_conversion``), and compared with onnxruntime's value of that
tensor. Bisection over the topological order finds the first differing tensor in about
log2(nodes) conversions.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from torch2tf.conversion.onnx_source import node_source
from torch2tf.conversion.onnx_to_tf import copy_onnx, run_onnx2tf
from torch2tf.conversion.signature import plan_inputs, read_raw_signature, run_raw
from torch2tf.conversion.strategies import RequestExtras, Strategy, kept_layout_inputs, onnx2tf_request
from torch2tf.records import Localization
from torch2tf.specs import TensorSpec, candidate_perms, load_onnx_graph
from torch2tf.validation.compare import OutputComparison, Tolerance, compare_output

MAX_PROBES = 16
# Intermediate tensors can be large in magnitude: allow a relative part on top of fp32's atol.
INTERMEDIATE = Tolerance(atol=1e-4, rtol=1e-5)


@dataclass
class Divergence:
    node: str
    op_type: str
    tensor: str
    max_abs: float | None
    module: str = ""
    source: str = ""
    probes: int = 0
    note: str = ""

    def describe(self) -> str:
        where = " ".join(x for x in (f"module {self.module}" if self.module else "",
                                      f"at {self.source}" if self.source else "") if x)
        figure = f", max abs {self.max_abs:.3g}" if self.max_abs is not None else ""
        return f"first differing node: {self.node} ({self.op_type}){', ' + where if where else ''}{figure}"


@dataclass
class LocalizeRequest:
    reference_onnx: Path  # what onnxruntime runs (the export)
    converted_onnx: Path  # what onnx2tf was given (after onnxsim and rewrites)
    specs: list[TensorSpec]
    feeds: dict[str, np.ndarray]  # one batch-1 sample
    strategy: Strategy
    work_dir: Path
    seed: int = 0


def localize_divergence(request: LocalizeRequest) -> Divergence | None:
    """Bisect for the first differing tensor; None when even the last one matches."""
    converted = load_onnx_graph(request.converted_onnx)
    reference_producers = {o: n for n in load_onnx_graph(request.reference_onnx).graph.node for o in n.output}
    candidates = _candidates(converted, set(reference_producers))
    if not candidates:
        return None
    expected = _reference_values(request.reference_onnx, candidates, request.feeds)
    search = _Bisection(request, [c for c in candidates if c in expected], expected)
    tensor = search.run()
    if tensor is None:
        return None
    node = next(n for n in converted.graph.node if tensor in n.output)
    source_node = reference_producers.get(tensor, node)
    info = node_source(source_node)
    note = "" if search.converged else f"stopped after {MAX_PROBES} probes; the divergence is at or before this node"
    return Divergence(node=source_node.name or node.name, op_type=node.op_type, tensor=tensor,
                      max_abs=search.errors.get(tensor), module=info.get("module", ""),
                      source=info.get("source", ""), probes=search.probes, note=note)


class _Bisection:
    """Over candidate tensors in topological order: the first whose cut conversion differs."""

    def __init__(self, request: LocalizeRequest, candidates: list[str], expected: dict[str, np.ndarray]) -> None:
        self.request, self.candidates, self.expected = request, candidates, expected
        self.probes = 0
        self.errors: dict[str, float] = {}
        self.converged = False

    def run(self) -> str | None:
        lo, hi = 0, len(self.candidates) - 1
        while True:  # the search needs a differing last tensor
            if hi < 0 or self.probes >= MAX_PROBES:
                return None
            verdict = self._differs(hi)
            if verdict is None:
                del self.candidates[hi]
                hi -= 1
                continue
            if not verdict:
                return None
            break
        while lo < hi and self.probes < MAX_PROBES:
            mid = (lo + hi) // 2
            verdict = self._differs(mid)
            if verdict is None:
                del self.candidates[mid]
                hi -= 1
            elif verdict:
                hi = mid
            else:
                lo = mid + 1
        self.converged = lo == hi
        return self.candidates[hi]

    def _differs(self, index: int) -> bool | None:
        """True/False; None when that cut cannot be compared (it is then dropped)."""
        self.probes += 1
        name = self.candidates[index]
        comparison = _probe(self.request, name, self.expected[name], self.probes)
        if comparison is None:
            return None
        self.errors[name] = comparison.max_abs
        return not comparison.passed


def _candidates(model, reference_tensors: set[str]) -> list[str]:
    """Float outputs of non-constant nodes, in topological order, that the reference also has."""
    constant = {i.name for i in model.graph.initializer}
    float_tensors = _float_tensor_names(model)
    names = []
    for node in model.graph.node:
        if node.op_type == "Constant" or all(i in constant or not i for i in node.input):
            constant.update(node.output)
            continue
        names += [o for o in node.output if o in reference_tensors and o in float_tensors]
    return names


def _float_tensor_names(model) -> set[str]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    values = list(inferred.graph.value_info) + list(inferred.graph.output)
    return {v.name for v in values if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}


def _reference_values(path: Path, names: list[str], feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    existing = {o.name for o in model.graph.output}
    for name in names:
        if name not in existing:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Graph optimizations could fuse away the tensors we want to read.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    fetch = [n for n in names if n in {o.name for o in session.get_outputs()}]
    return dict(zip(fetch, session.run(fetch, feeds)))


def _probe(request: LocalizeRequest, tensor: str, expected: np.ndarray, index: int) -> OutputComparison | None:
    """Convert the graph cut at ``tensor`` and compare it in its closest layout (None: could not compare)."""
    directory = request.work_dir / f"probe-{index}"
    shutil.rmtree(directory, ignore_errors=True)
    source = copy_onnx(request.converted_onnx, directory / "onnx")
    onnx2tf_request_ = onnx2tf_request(request.strategy, source, directory / "raw", request.specs, request.seed,
                                       RequestExtras(interrupt_at=[tensor]))
    try:
        result = run_onnx2tf(onnx2tf_request_, directory)
        raw, raw_inputs = read_raw_signature(result.saved_model_dir)
        inputs, raw_batch = plan_inputs(request.specs, raw_inputs, kept_layout_inputs(request.strategy, request.specs))
        values = list(run_raw(raw, inputs, request.feeds, raw_batch).values())
    except Exception:  # a cut onnx2tf or TensorFlow cannot build or run: this tensor cannot be compared
        return None
    if len(values) != 1:
        return None
    best = None
    for perm in candidate_perms(values[0].ndim):
        candidate = values[0] if perm is None else np.transpose(values[0], perm)
        if candidate.shape == expected.shape:
            comparison = compare_output(tensor, expected, candidate, INTERMEDIATE)
            best = comparison if best is None or comparison.max_abs < best.max_abs else best
    return best


def localization_entry(divergence: Divergence | None) -> tuple[Localization, str]:
    """report.json "localization" and the stage's one-line detail."""
    if divergence is None:
        return Localization(found=False), "no single ONNX node differs on its own"
    return Localization(**asdict(divergence)), divergence.describe()
