"""Tensor specs and bindings: what a model takes and returns, and how onnx2tf's tensors map onto it.

``TensorSpec`` describes an input or an output (name, shape with ``None`` for a dynamic axis, numpy
dtype); ``--input`` text and ONNX graphs are read into it here. A dynamic axis is the batch (``N``,
axis 0) or a named ``Dim`` (``{seq}``, ``{seq=1..512}``): inputs naming the same dim share its size. ``TensorBinding`` and
``SignaturePlan`` record how each PyTorch-side tensor maps onto onnx2tf's raw SavedModel/TFLite
tensors (name and layout permutation); they are written to manifest.json and read back by every
runner.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from torch2tf.errors import ExportError, InputSpecError, UsageError

SIGNATURE_KEY = "serving_default"  # the signature TF Serving calls, in the SavedModel and the .tflite files
DTYPES = ("float32", "float16", "int64", "int32", "bool")
MAX_ROW_ELEMENTS = 2 ** 28  # per input and batch row: 1 GiB of float32, far beyond any model's input
DYNAMIC_TOKENS = ("N", "batch")
BATCH = "batch"  # the name of axis 0 when it is dynamic
UNNAMED = "?"  # a dynamic axis beyond the batch without a name: an output's, read off the ONNX graph
# An unbounded named dim is validated at these sizes (and traced at the first); bounds replace them
UNBOUNDED_SIZES = (8, 16)
_DIM_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:=(\d+)\.\.(\d+))?\}")
_ONNX_TO_NUMPY = {1: "float32", 10: "float16", 7: "int64", 6: "int32", 9: "bool", 11: "float64",
                  2: "uint8", 3: "int8"}


LAYOUTS = ("nchw", "nhwc")


@dataclass(frozen=True)
class Layouts:
    """Where image tensors are channel-first or channel-last, at each end: the SavedModel's serving
    signature (PyTorch's nchw by default) and the .tflite signatures (mobile-native nhwc by default)."""

    saved_model: str = "nchw"
    tflite: str = "nhwc"

    def __post_init__(self) -> None:
        for option, value in (("--layout", self.saved_model), ("--tflite-layout", self.tflite)):
            if value not in LAYOUTS:
                raise UsageError(f"{option} must be nchw or nhwc, not {value!r}")


@dataclass(frozen=True)
class Dim:
    """A named dynamic axis: ``{seq}`` or, bounded, ``{seq=1..512}``. Inputs naming it share its size."""

    name: str
    low: int = 1
    high: int | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        """The sizes parity is checked at: the bounds when given, else UNBOUNDED_SIZES."""
        if self.high is None:
            return UNBOUNDED_SIZES if self.low <= UNBOUNDED_SIZES[0] else (self.low, 2 * self.low)
        return (self.low, self.high) if self.high > self.low else (self.low,)

    @property
    def trace_size(self) -> int:
        """The size the export traces at: torch.export specializes an axis whose example size is 1."""
        return next((s for s in (*self.sizes, 2) if s >= 2 and (self.high is None or s <= self.high)), self.low)

    def text(self) -> str:
        return f"{{{self.name}}}" if self.high is None else f"{{{self.name}={self.low}..{self.high}}}"


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: name, shape (None = a dynamic axis) and numpy dtype name.

    ``dims`` names the dynamic axes other than the batch (one entry per axis, None elsewhere; empty
    when only the batch is dynamic).
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    dims: tuple[Dim | None, ...] = ()

    @property
    def dynamic_batch(self) -> bool:
        return bool(self.shape) and self.shape[0] is None

    def dim(self, axis: int) -> Dim | None:
        """The named dim at ``axis`` (None for the batch and for static axes)."""
        return self.dims[axis] if axis < len(self.dims) else None

    @property
    def named_dims(self) -> dict[int, Dim]:
        return {i: d for i, d in enumerate(self.dims) if d is not None}

    def accepts(self, shape: tuple[int, ...]) -> bool:
        """Does an array of ``shape`` fit: the same rank, every static axis at its size."""
        return len(shape) == len(self.shape) and all(d is None or a == d for a, d in zip(shape, self.shape))

    def concrete_shape(self, batch: int, sizes: dict[str, int] | None = None) -> tuple[int, ...]:
        """The shape at ``batch`` rows, each named dim at ``sizes[name]`` (its trace size when not given)."""
        sizes = sizes or {}
        return tuple(d if d is not None else batch if self.dim(i) is None
                     else sizes.get(self.dim(i).name, self.dim(i).trace_size) for i, d in enumerate(self.shape))

    def pinned(self, sizes: dict[str, int]) -> TensorSpec:
        """This spec with its named dims fixed at ``sizes`` (the batch stays dynamic)."""
        shape = tuple(sizes[self.dim(i).name] if self.dim(i) else d for i, d in enumerate(self.shape))
        return TensorSpec(self.name, shape, self.dtype)

    def _token(self, axis: int) -> str:
        dim, size = self.dim(axis), self.shape[axis]
        return dim.text() if dim else str(size) if size is not None else "N" if axis == 0 else UNNAMED

    def shape_text(self) -> str:
        return "x".join(self._token(i) for i in range(len(self.shape)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [d if d is not None else self._token(i) for i, d in enumerate(self.shape)],
                "dtype": self.dtype}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpec:
        # N or ? anywhere: dynamic without a name (an output's length, as the ONNX graph declares it)
        dims = [(None, None) if d in (None, "N", UNNAMED) else _axis(d, i, data["name"]) if isinstance(d, str)
                else (int(d), None) for i, d in enumerate(data["shape"])]
        return _spec(data["name"], dims, data["dtype"])


def _spec(name: str, axes: list[tuple[int | None, Dim | None]], dtype: str) -> TensorSpec:
    dims = tuple(d for _, d in axes)
    return TensorSpec(name, tuple(s for s, _ in axes), dtype, dims if any(dims) else ())


def _axis(token: str, axis: int, text: str) -> tuple[int | None, Dim | None]:
    """One shape token: a size, N/batch (axis 0) or a named dim ``{name}`` / ``{name=LOW..HIGH}``."""
    if token.isascii() and token.isdigit() and int(token) > 0:
        return int(token), None
    match = _DIM_TOKEN.fullmatch(token)
    if match is None and token not in DYNAMIC_TOKENS:
        raise InputSpecError(f"bad --input {text!r}: {token!r} is not a positive size, N, {{name}} or "
                             "{name=LOW..HIGH}")
    name, low, high = match.groups() if match else (BATCH, None, None)
    if (name in (BATCH, "N")) != (axis == 0):
        raise InputSpecError(f"bad --input {text!r}: N is the batch, axis 0 only; name another dynamic axis, "
                             f"e.g. {{seq}} or {{seq=1..512}}, got {token!r} at axis {axis}")
    if axis == 0:
        return None, None
    if low is not None and not 1 <= int(low) <= int(high):
        raise InputSpecError(f"bad --input {text!r}: the bounds of {{{name}}} must be 1 <= LOW <= HIGH")
    return None, Dim(name, int(low), int(high)) if low is not None else Dim(name)


def unified(specs: list[TensorSpec]) -> list[TensorSpec]:
    """The specs with every named dim as ``shared_dims`` has it (``{seq}`` takes another input's bounds)."""
    dims = shared_dims(specs)
    return [replace(s, dims=tuple(dims[d.name] if d else None for d in s.dims)) for s in specs]


def sample_sizes(specs: list[TensorSpec], index: int) -> dict[str, int]:
    """The named dims' sizes for the ``index``-th sample: the first of each dim's sizes, then the last, in turn."""
    return {name: dim.sizes[-1] if index % 2 else dim.sizes[0] for name, dim in shared_dims(specs).items()}


def shared_dims(specs: list[TensorSpec]) -> dict[str, Dim]:
    """Every named dim of these inputs (bounds given once hold for every input naming it; two bounds: an error)."""
    found: dict[str, Dim] = {}
    for dim in (d for s in specs for d in s.named_dims.values()):
        known = found.setdefault(dim.name, dim)
        if known != dim and Dim(dim.name) not in (known, dim):
            raise InputSpecError(f"the dim {{{dim.name}}} has two different bounds: {known.text()} and {dim.text()}")
        if known == Dim(dim.name):
            found[dim.name] = dim
    return found


def parse_input_spec(text: str) -> TensorSpec:
    """Parse ``NAME:SHAPE[:DTYPE]``, e.g. ``image:Nx3x224x224``, ``tokens:Nx32:int64`` or
    ``input_ids:Nx{seq=1..512}:int64`` (a named dynamic axis, bounds optional)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InputSpecError(f"bad --input {text!r}: expected NAME:SHAPE[:DTYPE], "
                             "e.g. image:Nx3x224x224 or tokens:Nx32:int64")
    name, shape_text = parts[0], parts[1]
    dtype = parts[2] if len(parts) == 3 else "float32"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        raise InputSpecError(f"bad --input {text!r}: the name {name!r} must be an identifier")
    if dtype not in DTYPES:
        raise InputSpecError(f"bad --input {text!r}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    tokens = re.split(r"x(?![^{]*\})", shape_text)  # an x inside {…} is part of a dim's name
    axes = [_axis(token, i, text) for i, token in enumerate(tokens)]
    spec = _spec(name, axes, dtype)
    largest = {i: d.high or max(d.sizes) for i, d in spec.named_dims.items()}
    row = math.prod(largest.get(i, d or 1) for i, d in enumerate(spec.shape) if i) * (spec.shape[0] or 1)
    if row > MAX_ROW_ELEMENTS:
        raise InputSpecError(f"bad --input {text!r}: {row:,} elements per sample is beyond what torch2tf "
                             f"validates ({MAX_ROW_ELEMENTS:,})")
    return spec


# -- ONNX graph I/O --------------------------------------------------------------------------------

def load_onnx_graph(path: Path):
    """The ONNX model without its external weights (enough for names, shapes and node lists)."""
    import onnx

    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        text = str(exc).strip() or type(exc).__name__
        raise ExportError(f"cannot read ONNX file {path}: {text.splitlines()[0]}") from exc


def _value_specs(values) -> list[TensorSpec]:
    specs = []
    for value in values:
        tensor_type = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor_type.shape.dim]
        specs.append(TensorSpec(value.name, tuple(dims), _ONNX_TO_NUMPY.get(tensor_type.elem_type, "float32")))
    return specs


def onnx_input_specs(path: Path) -> list[TensorSpec]:
    """The graph inputs (initializers excluded); symbolic dims become None."""
    model = load_onnx_graph(path)
    initializers = {i.name for i in model.graph.initializer}
    return _value_specs(v for v in model.graph.input if v.name not in initializers)


def onnx_output_specs(path: Path) -> list[TensorSpec]:
    return _value_specs(load_onnx_graph(path).graph.output)


# -- bindings onto onnx2tf's tensors ---------------------------------------------------------------

@dataclass
class TensorBinding:
    """How one PyTorch-side tensor maps onto a tensor of onnx2tf's raw SavedModel or TFLite file."""

    name: str  # PyTorch/ONNX name
    raw_name: str  # onnx2tf's signature key (or TFLite tensor name)
    perm: list[int] | None  # transpose from the PyTorch layout to the raw layout (inputs) or back (outputs)
    dtype: str
    raw_dtype: str = ""
    key: str = ""  # the SavedModel signature's key for an input, when TensorFlow had to rename it


@dataclass
class SignaturePlan:
    inputs: list[TensorBinding]
    outputs: list[TensorBinding]
    raw_batch: int | None  # the raw model's fixed batch, None when it is dynamic
    layout: str = "nchw"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"layout": self.layout, "raw_batch": self.raw_batch,
                "inputs": [vars(b) for b in self.inputs], "outputs": [vars(b) for b in self.outputs]}

    def input_keys(self) -> dict[str, str]:
        """PyTorch/ONNX input name → the SavedModel signature's key (what REST, gRPC and warmup send)."""
        return {b.name: b.key or b.name for b in self.inputs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignaturePlan:
        return cls([TensorBinding(**b) for b in data["inputs"]], [TensorBinding(**b) for b in data["outputs"]],
                   data["raw_batch"], data.get("layout", "nchw"))


def channel_last_perm(rank: int) -> list[int]:
    """NC... → N...C: what onnx2tf does to rank 3-5 inputs."""
    return [0, *range(2, rank), 1]


def channel_first_perm(rank: int) -> list[int]:
    """N...C → NC...: the inverse of channel_last_perm."""
    return [0, rank - 1, *range(1, rank - 1)]


def candidate_perms(rank: int) -> list[list[int] | None]:
    """The layouts an onnx2tf output can be in: as ONNX has it, or channel-last for rank 3-5."""
    return [None, channel_first_perm(rank)] if 3 <= rank <= 5 else [None]
