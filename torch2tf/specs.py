"""Tensor specs and bindings: what a model takes and returns, and how onnx2tf's tensors map onto it.

``TensorSpec`` describes an input or an output (name, shape with ``None`` for a dynamic batch,
numpy dtype); ``--input`` text and ONNX graphs are read into it here. ``TensorBinding`` and
``SignaturePlan`` record how each PyTorch-side tensor maps onto onnx2tf's raw SavedModel/TFLite
tensors (name and layout permutation); they are written to manifest.json and read back by every
runner.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch2tf.errors import ExportError, InputSpecError, UsageError

SIGNATURE_KEY = "serving_default"  # the signature TF Serving calls, in the SavedModel and the .tflite files
DTYPES = ("float32", "float16", "int64", "int32", "bool")
MAX_ROW_ELEMENTS = 2 ** 28  # per input and batch row: 1 GiB of float32, far beyond any model's input
DYNAMIC_TOKENS = ("N", "batch")
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
class TensorSpec:
    """One model input or output: name, shape (None = dynamic batch axis) and numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    @property
    def dynamic_batch(self) -> bool:
        return bool(self.shape) and self.shape[0] is None

    def concrete_shape(self, batch: int) -> tuple[int, ...]:
        return tuple(batch if d is None else d for d in self.shape)

    def shape_text(self) -> str:
        return "x".join("N" if d is None else str(d) for d in self.shape)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [d if d is not None else "N" for d in self.shape],
                "dtype": self.dtype}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpec:
        shape = tuple(None if d in ("N", None) else int(d) for d in data["shape"])
        return cls(data["name"], shape, data["dtype"])


def parse_input_spec(text: str) -> TensorSpec:
    """Parse ``NAME:SHAPE[:DTYPE]``, e.g. ``image:Nx3x224x224`` or ``tokens:Nx32:int64``."""
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
    dims: list[int | None] = []
    for i, token in enumerate(shape_text.split("x")):
        if token in DYNAMIC_TOKENS:
            if i != 0:
                raise InputSpecError(f"bad --input {text!r}: only the leading (batch) axis can be "
                                     f"dynamic, got {token!r} at axis {i}")
            dims.append(None)
        elif token.isascii() and token.isdigit() and int(token) > 0:
            dims.append(int(token))
        else:
            raise InputSpecError(f"bad --input {text!r}: {token!r} is not a positive size, N or batch")
    row = math.prod(d for d in dims[1:] if d) * (dims[0] or 1)
    if row > MAX_ROW_ELEMENTS:
        raise InputSpecError(f"bad --input {text!r}: {row:,} elements per sample is beyond what torch2tf "
                             f"validates ({MAX_ROW_ELEMENTS:,})")
    return TensorSpec(name, tuple(dims), dtype)


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


def signature_keys(names: list[str]) -> dict[str, str]:
    """Each name as a SavedModel signature input key: TensorFlow's own renaming, made unique.

    tf.function parameters must be identifiers, so TensorFlow rewrites ``gpu_0/data_0`` to
    ``gpu_0_data_0`` (every character that is not a letter or digit becomes ``_``, and a name that does
    not start with a letter gains ``arg_``). Applying the same rule ourselves, before TensorFlow does,
    makes the mapping known instead of discovered; a clash (``a/b`` and ``a:b``) gets a suffix.
    """
    keys: dict[str, str] = {}
    for name in names:
        swapped = "".join(c if c.isalnum() and c.isascii() else "_" for c in name)
        key = swapped if swapped[:1].isalpha() else "arg_" + swapped
        base, n = key, 2
        while key in keys.values():
            key, n = f"{base}_{n}", n + 1
        keys[name] = key
    return keys


def channel_last_perm(rank: int) -> list[int]:
    """NC... → N...C: what onnx2tf does to rank 3-5 inputs."""
    return [0, *range(2, rank), 1]


def channel_first_perm(rank: int) -> list[int]:
    """N...C → NC...: the inverse of channel_last_perm."""
    return [0, rank - 1, *range(1, rank - 1)]


def candidate_perms(rank: int) -> list[list[int] | None]:
    """The layouts an onnx2tf output can be in: as ONNX has it, or channel-last for rank 3-5."""
    return [None, channel_first_perm(rank)] if 3 <= rank <= 5 else [None]
