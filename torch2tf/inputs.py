"""The model's inputs: resolved from --input / .npz / the ONNX graph, and the validation samples.

One sample builder serves convert, validate, smoke and the TF Serving warmup requests, so every
artifact is checked on inputs built the same way: token ids below the embedding size, padding
masks, normalized image pixels, standard normal floats.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torch2tf.errors import InputSpecError, UsageError
from torch2tf.model_source import LoadedModel
from torch2tf.specs import DTYPES, TensorSpec, load_onnx_graph, onnx_input_specs, sample_sizes, unified

DEFAULT_VOCAB = 100
VALIDATION_BATCHES = (1, 3)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise UsageError(f"--input-data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception as exc:
        raise InputSpecError(f"cannot read {path} as .npz: {exc}") from exc


# -- resolving the input specs ---------------------------------------------------------------------

def resolve_input_specs(loaded: LoadedModel, cli_specs: list[TensorSpec],
                        arrays: dict[str, Any] | None) -> list[TensorSpec]:
    """Decide the model's inputs from --input, --input-data arrays, forward() or the ONNX graph.

    --input names win over forward()'s parameter names (matched by position); arrays from an
    .npz must then agree with them in name, rank and dtype.
    """
    names = [s.name for s in cli_specs]
    if len(set(names)) != len(names):
        raise InputSpecError(f"--input names must be unique, got {', '.join(names)}")
    if loaded.kind == "onnx":
        specs = _merge_onnx_specs(loaded, cli_specs)
    elif cli_specs:
        specs = list(cli_specs)
    elif arrays:
        specs = _specs_from_arrays(arrays, loaded.forward_params)
    else:
        hint = ", ".join(loaded.forward_params) or "the model's inputs"
        raise InputSpecError("a PyTorch model needs --input NAME:SHAPE[:DTYPE] (or --input-data FILE.npz)",
                             hint=f"forward() takes: {hint}")
    if loaded.kind != "onnx":
        loaded.binding([s.name for s in specs])  # every input must reach a parameter of forward()
    specs = unified(specs)
    if arrays:
        check_arrays_match(specs, arrays)
    return specs


def check_arrays_match(specs: list[TensorSpec], arrays: dict[str, Any]) -> None:
    """Raise InputSpecError naming the first array whose name, shape or dtype does not fit."""
    expected = {s.name for s in specs}
    unknown = sorted(set(arrays) - expected)
    missing = sorted(expected - set(arrays))
    if unknown or missing:
        raise InputSpecError(f"--input-data arrays do not match the model inputs: "
                             f"missing {missing or 'none'}, unexpected {unknown or 'none'}")
    for spec in specs:
        array = arrays[spec.name]
        if str(array.dtype) != spec.dtype:
            raise InputSpecError(f"dtype mismatch for input {spec.name!r}: the data is {array.dtype}, "
                                 f"the input is {spec.dtype}")
        if not spec.accepts(array.shape):
            raise InputSpecError(f"shape mismatch for input {spec.name!r}: the data is "
                                 f"{'x'.join(map(str, array.shape))}, the input is {spec.shape_text()}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InputSpecError(f"--input-data array {spec.name!r} has {int((~np.isfinite(array)).sum())} NaN/Inf "
                                 "values: parity needs finite inputs (a NaN compared with a NaN proves nothing)")


def _specs_from_arrays(arrays: dict[str, Any], forward_params: list[str]) -> list[TensorSpec]:
    names = list(arrays)
    if forward_params and set(names) <= set(forward_params):
        names = [p for p in forward_params if p in arrays]
    specs = []
    for name in names:
        array = arrays[name]
        if str(array.dtype) not in DTYPES:
            raise InputSpecError(f"--input-data array {name!r} has dtype {array.dtype}; "
                                 f"supported: {', '.join(DTYPES)}")
        if array.ndim == 0:
            raise InputSpecError(f"--input-data array {name!r} is a scalar; inputs need a batch axis")
        specs.append(TensorSpec(name, (None, *array.shape[1:]), str(array.dtype)))
    return specs


def _merge_onnx_specs(loaded: LoadedModel, cli_specs: list[TensorSpec]) -> list[TensorSpec]:
    graph_specs = onnx_input_specs(loaded.onnx_path)
    by_name = {s.name: s for s in cli_specs}
    unknown = sorted(set(by_name) - {s.name for s in graph_specs})
    if unknown:
        raise InputSpecError(f"--input names {unknown} are not inputs of {loaded.source}; "
                             f"its inputs are {', '.join(s.name for s in graph_specs)}")
    specs = []
    for graph_spec in graph_specs:
        spec = by_name.get(graph_spec.name, graph_spec)
        if spec.dtype != graph_spec.dtype:
            raise InputSpecError(f"dtype mismatch for input {spec.name!r}: --input says {spec.dtype}, "
                                 f"the ONNX model takes {graph_spec.dtype}")
        if any(d is None and spec.dim(i) is None for i, d in enumerate(spec.shape) if i):
            raise InputSpecError(f"input {spec.name!r} of {loaded.source} has a dynamic axis other than "
                                 f"the batch ({'x'.join('?' if d is None else str(d) for d in spec.shape)})",
                                 hint=f"give its size, or name it dynamic: --input {spec.name}:Nx...x{{seq=1..512}}")
        specs.append(spec)
    return specs


# -- vocabulary sizes ------------------------------------------------------------------------------

def embedding_sizes(onnx_path: Path) -> dict[str, int]:
    """For each integer graph input feeding a Gather on a weight table: that table's row count."""
    model = load_onnx_graph(onnx_path)
    tables = {i.name: i.dims[0] for i in model.graph.initializer if len(i.dims) == 2}
    aliases = {v.name: v.name for v in model.graph.input}  # tensor → graph input it is a cast/copy of
    sizes: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type in ("Cast", "Identity") and node.input and node.input[0] in aliases:
            aliases[node.output[0]] = aliases[node.input[0]]
        elif node.op_type == "Gather" and len(node.input) == 2 and node.input[1] in aliases \
                and node.input[0] in tables:
            source = aliases[node.input[1]]
            sizes[source] = min(sizes.get(source, tables[node.input[0]]), tables[node.input[0]])
    return sizes


def vocab_sizes(loaded: LoadedModel, specs: list[TensorSpec]) -> dict[str, int]:
    """Upper bounds for token-id inputs: the ONNX embedding tables, or the module's smallest one."""
    if loaded.kind == "onnx":
        return embedding_sizes(loaded.onnx_path)
    sizes = [m.num_embeddings for m in loaded.module.modules() if hasattr(m, "num_embeddings")]
    if not sizes:
        return {}
    return {s.name: min(sizes) for s in specs if s.dtype.startswith("int")}


# -- validation samples ----------------------------------------------------------------------------

@dataclass
class Sample:
    name: str  # e.g. "random-batch1", "input-data"
    feeds: dict[str, np.ndarray]


def validation_samples(specs: list[TensorSpec], seed: int, vocab: dict[str, int], count: int | None = None,
                       prefix: str = "random", arrays: dict[str, np.ndarray] | None = None) -> list[Sample]:
    """Seeded samples: batch 1 and 3 when the batch is dynamic (else 1), plus the user's arrays.

    ``count`` None gives one sample per validation batch size; a number gives that many,
    alternating batch sizes, named ``PREFIX-I-batchB``. Named dims (``{seq}``) take the first of
    their sizes on even samples and the last on odd ones (``PREFIX-batch3-seq512``): every dynamic
    axis is checked at two sizes, its bounds when given.
    """
    dynamic = any(s.dynamic_batch for s in specs)
    named = any(s.dims for s in specs)
    if count is None:
        count = len(VALIDATION_BATCHES) if dynamic or named else 1
        names = [f"{prefix}-batch" if dynamic or named else prefix] * count
    else:
        names = [f"{prefix}-{i}-batch" for i in range(count)]
    samples = []
    for i, name in enumerate(names):
        batch = VALIDATION_BATCHES[i % len(VALIDATION_BATCHES)] if dynamic else 1
        sizes = sample_sizes(specs, i)
        label = name + (str(batch) if name.endswith("-batch") else "") + "".join(f"-{k}{v}" for k, v in sizes.items())
        samples.append(Sample(label, make_inputs(specs, batch, seed + i, vocab, sizes)))
    if arrays:
        samples.append(Sample("input-data", {s.name: arrays[s.name] for s in specs}))
    return samples


def make_inputs(specs: list[TensorSpec], batch: int, seed: int, vocab: dict[str, int] | None = None,
                sizes: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Random inputs for one batch size.

    Integer inputs named like a mask get ones with a zeroed tail (a padded sequence); other integer
    inputs are token ids below the embedding size (``vocab``), so embeddings never index out of
    range. Image-like floats (N, 1|3|4, H, W) are pixels in [0, 1) normalized with ImageNet
    statistics, like a preprocessed photo; other floats are standard normal.
    """
    rng = np.random.default_rng(seed)
    vocab = vocab or {}
    feeds = {}
    for spec in specs:
        shape = spec.concrete_shape(batch, sizes)
        if spec.dtype == "bool":
            feeds[spec.name] = rng.random(shape) < 0.5
        elif spec.dtype in ("int64", "int32"):
            if "mask" in spec.name.lower():
                feeds[spec.name] = _padding_mask(shape, rng).astype(spec.dtype)
            else:
                feeds[spec.name] = rng.integers(0, vocab.get(spec.name, DEFAULT_VOCAB), size=shape).astype(spec.dtype)
        elif len(shape) == 4 and shape[1] in (1, 3, 4):
            feeds[spec.name] = ((rng.random(shape) - 0.45) / 0.226).astype(spec.dtype)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
    return feeds


def _padding_mask(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    mask = np.ones(shape, dtype=np.int64)
    if len(shape) >= 2 and shape[-1] > 1:
        for row in range(shape[0]):
            keep = int(rng.integers(max(1, shape[-1] // 2), shape[-1] + 1))
            mask[row, ..., keep:] = 0
    return mask
