"""Facts read off an ONNX file: validity, inputs, outputs, embedding sizes."""
from __future__ import annotations

from pathlib import Path

from torch2tf.errors import ExportError
from torch2tf.model_spec import InputSpec

_ONNX_TO_NUMPY = {1: "float32", 10: "float16", 7: "int64", 6: "int32", 9: "bool", 11: "float64",
                  2: "uint8", 3: "int8"}


def check_and_infer_shapes(path: Path) -> None:
    """Run onnx.checker (full check) and write shape-inferred value_info back into ``path``."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"the ONNX model is invalid: {_first_line(exc)}") from exc
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(path), check_type=True)
    except Exception as exc:
        raise ExportError(f"ONNX shape inference failed: {_first_line(exc)}") from exc


def _value_specs(values) -> list[InputSpec]:
    specs = []
    for value in values:
        tensor_type = value.type.tensor_type
        dims: list[int | None] = []
        for dim in tensor_type.shape.dim:
            dims.append(dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None)
        specs.append(InputSpec(value.name, tuple(dims), _ONNX_TO_NUMPY.get(tensor_type.elem_type, "float32")))
    return specs


def onnx_input_specs(path: Path) -> list[InputSpec]:
    """The graph inputs (initializers excluded) as InputSpecs; symbolic dims become None."""
    import onnx

    model = _load(path)
    initializers = {i.name for i in model.graph.initializer}
    return _value_specs(v for v in model.graph.input if v.name not in initializers)


def onnx_output_specs(path: Path) -> list[InputSpec]:
    return _value_specs(_load(path).graph.output)


def embedding_sizes(path: Path) -> dict[str, int]:
    """For each integer graph input feeding a Gather on a weight table: that table's row count."""
    model = _load(path)
    tables = {i.name: i.dims[0] for i in model.graph.initializer if len(i.dims) == 2}
    inputs = {v.name for v in model.graph.input}
    aliases = {name: name for name in inputs}  # tensor → graph input it is a cast/copy of
    sizes: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type in ("Cast", "Identity") and node.input and node.input[0] in aliases:
            aliases[node.output[0]] = aliases[node.input[0]]
        elif node.op_type == "Gather" and len(node.input) == 2 and node.input[1] in aliases \
                and node.input[0] in tables:
            source = aliases[node.input[1]]
            sizes[source] = min(sizes.get(source, tables[node.input[0]]), tables[node.input[0]])
    return sizes


def _load(path: Path):
    import onnx

    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ExportError(f"cannot read ONNX file {path}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
