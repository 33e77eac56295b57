"""The first stages of a conversion: load MODEL and its inputs, export to ONNX, check the ONNX.

Each returns a typed result that the next stage takes as an argument. The torch model runs once
per validation sample, here; the ladder compares those outputs with onnxruntime's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from torch2tf.binding import ForwardCall, left_at_default, with_arguments
from torch2tf.cache import Cache
from torch2tf.conversion.compatibility import Compatibility, inventory
from torch2tf.conversion.export import ExportRequest, normalize_onnx, written_opset
from torch2tf.conversion.onnx_checks import check_and_infer_shapes
from torch2tf.conversion.strategies import GraphFacts, PreparedGraphs, graph_facts, strategies_for
from torch2tf.errors import ConversionError, UsageError
from torch2tf.inputs import Sample, make_inputs, resolve_input_specs, validation_samples, vocab_sizes
from torch2tf.model_source import LoadedModel, load_model, run_forward
from torch2tf.pipeline.export_cache import export_with_cache
from torch2tf.pipeline.options import ConvertOptions
from torch2tf.records import Export
from torch2tf.specs import TensorSpec, onnx_output_specs

TRACE_SEED = 7  # the export's sample when named dims trace at their own sizes (a fixed seed: the same ONNX)

Outputs = dict[str, dict[str, np.ndarray]]


@dataclass
class Loaded:
    model: LoadedModel
    specs: list[TensorSpec]
    binding: ForwardCall | None  # how the inputs reach forward(); None for an ONNX file
    vocab: dict[str, int]
    samples: list[Sample]
    notes: list[str] = field(default_factory=list)  # e.g. forward() parameters left at their defaults

    def __str__(self) -> str:
        return f"{self.model.kind}; inputs " + ", ".join(f"{s.name}:{s.shape_text()}:{s.dtype}" for s in self.specs)


def load(options: ConvertOptions, arrays: dict[str, np.ndarray] | None) -> Loaded:
    model = load_model(options.model)
    if options.label:
        model = replace(model, source=options.label)
    specs = resolve_input_specs(model, options.inputs, arrays)
    if options.args and model.kind != "callable":
        raise UsageError(f"--arg sets a parameter of a Python model's forward(); this MODEL is {model.kind}: "
                         "its arguments were fixed when it was compiled")
    binding, notes = None, []
    if model.kind != "onnx":
        binding = with_arguments(model.binding([s.name for s in specs]), model.signature, options.args)
        defaults = left_at_default(binding, model.signature)
        if defaults:
            notes.append(f"forward() parameters left at their defaults: {', '.join(defaults)} "
                         "(--arg NAME=VALUE sets one)")
    vocab = vocab_sizes(model, specs)
    return Loaded(model, specs, binding, vocab, validation_samples(specs, options.seed, vocab, arrays=arrays), notes)


@dataclass
class Exported:
    exporter: str  # "dynamo", "torchscript", or "onnx" (the user's file)
    path: Path
    output_names: list[str]
    torch_outputs: Outputs | None  # per sample; None without a torch model
    info: Export  # report.json "export"
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.exporter == "onnx":
            return f"using {self.info.source}"
        fell_back = [a for a in self.info.attempts if a.status != "ok"]
        return (self.exporter + (f" (after {fell_back[0].exporter} failed)" if fell_back else "")
                + (" (from the cache)" if self.info.from_cache else ""))


def export_path(work: Path, label: str) -> Path:
    directory = work / f"export-{label}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "model.onnx"


def export_request(loaded: Loaded, path: Path, opset: int, output_names: list[str]) -> ExportRequest:
    """The export of ``loaded``: traced on its first sample, or, with named dims, on one at their trace sizes."""
    feeds = loaded.samples[0].feeds
    if any(s.dims for s in loaded.specs):
        feeds = make_inputs(loaded.specs, 1, TRACE_SEED, loaded.vocab)
    return ExportRequest(loaded.model, loaded.specs, loaded.binding, feeds, path, opset, output_names)


def export(loaded: Loaded, options: ConvertOptions, work: Path, cache: Cache | None = None) -> Exported:
    model = loaded.model
    if model.kind == "onnx":
        path = export_path(work, "primary")
        fixed = normalize_onnx(model.onnx_path, path, {s.name: list(s.shape) for s in loaded.specs})
        info = Export(exporter="none (ONNX given)", source=str(model.onnx_path))
        notes = [f"--input fixed the ONNX file's input dims ({'; '.join(fixed)})"] if fixed else []
        return Exported("onnx", path, [s.name for s in onnx_output_specs(path)], None, info, notes)
    results = {s.name: run_forward(model.module, loaded.binding, s.feeds) for s in loaded.samples}
    names = options.output_names or results[loaded.samples[0].name].names
    torch_outputs = {sample: dict(zip(names, r.values)) for sample, r in results.items()}
    result, cached = export_with_cache(export_request(loaded, export_path(work, "primary"), options.opset, names),
                                       options.model, cache or Cache(None))
    written = written_opset(result.path)
    info = Export(exporter=result.exporter, opset=written, requested_opset=options.opset, attempts=result.attempts,
                  from_cache=cached)
    notes = []
    if written != options.opset:
        # The dynamo exporter writes opset 18 at least; onnx's version converter breaks its graphs.
        notes.append(f"--opset {options.opset} was requested; the {result.exporter} exporter wrote opset {written}")
    return Exported(result.exporter, result.path, names, torch_outputs, info, notes)


def prepare_for_check(onnx_path: Path, specs: list[TensorSpec], work: Path, prepared: PreparedGraphs) -> Path:
    """The graph the first strategy hands onnx2tf (onnxsim, rewrites); without onnxsim if onnxsim fails on it."""
    first = strategies_for(specs)[0]
    try:
        path, _ = prepared.prepare(onnx_path, work / "precheck", first, specs)
    except ConversionError:
        path, _ = prepared.prepare(onnx_path, work / "precheck", replace(first, use_onnxsim=False), specs)
    return path


@dataclass
class Checked:
    output_specs: list[TensorSpec]
    compatibility: Compatibility
    facts: GraphFacts  # of the graph onnx2tf will see: what the strategies depend on

    def __str__(self) -> str:
        nodes = sum(op.count for op in self.compatibility.ops)
        return f"{nodes} nodes, {len(self.compatibility.ops)} op types"


def check_onnx(exported: Exported, loaded: Loaded, options: ConvertOptions, work: Path,
               graphs: PreparedGraphs) -> Checked:
    check_and_infer_shapes(exported.path)
    prepared = prepare_for_check(exported.path, loaded.specs, work, graphs)
    compat = inventory(prepared, options.tflite_builtins_only, source_path=exported.path)
    checked = Checked(onnx_output_specs(exported.path), compat, graph_facts(prepared))
    if options.op_check and not compat.ok:
        raise ConversionError("operators that will not convert:\n" + compat.blocking_summary()
                              + "\n\n" + compat.table(), hint="--no-op-check tries anyway")
    return checked

