"""Give a .tflite file the model's own interface: a ``serving_default`` signature with PyTorch names.

onnx2tf writes TFLite files without signatures (``get_signature_list()`` is empty) and with its own
tensor names (``Identity``), and channel-last image tensors. Here the flatbuffer is edited in place:
the input and output tensors take the PyTorch/ONNX names and a SignatureDef maps those names onto
them, so ``interpreter.get_signature_runner()(image=...)`` works as it does for litert-torch files.

Layout ``nhwc`` (the default, mobile-native) keeps image tensors channel-last; ``nchw`` adds one
TRANSPOSE before each channel-last input and after each channel-last output so the file takes and
returns PyTorch's layout.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from torch2tf.errors import ConversionError
from torch2tf.specs import SIGNATURE_KEY, TensorBinding
from torch2tf.tflite.edit import int32_constant
from torch2tf.tflite.flatbuffer import read_model, text, write_model
from torch2tf.tflite.flatbuffer import schema as litert_schema
from torch2tf.tflite.opcodes import TRANSPOSE, opcode_index


def sign_tflite(path: Path, inputs: list[TensorBinding], outputs: list[TensorBinding],
                layout: str = "nhwc") -> tuple[list[TensorBinding], list[TensorBinding]]:
    """Rewrite ``path`` with the signature; return the bindings that now describe the file.

    ``inputs``/``outputs`` bind PyTorch tensors to the file's tensors (by name, with the permutation
    between layouts); in the returned bindings the file's tensors carry the PyTorch names, and with
    layout ``nchw`` no permutation is left.
    """
    schema = litert_schema()
    model = read_model(path, ConversionError, "add its signature")
    if len(model.subgraphs) != 1:
        raise ConversionError(f"{path.name} has {len(model.subgraphs)} subgraphs; a signature needs exactly one")
    graph = model.subgraphs[0]
    names = {text(graph.tensors[i].name): i for i in list(graph.inputs) + list(graph.outputs)}
    in_index = [_tensor_index(graph, names, b, path, "input") for b in inputs]
    out_index = [_tensor_index(graph, names, b, path, "output") for b in outputs]
    signed_inputs, signed_outputs = [], []
    head, tail = [], []
    for n, (binding, index) in enumerate(zip(inputs, in_index)):
        if layout == "nchw" and binding.perm:
            in_index[n] = index = _transposed_input(model, graph, index, binding.perm, head, schema)
        signed_inputs.append(_renamed(graph, index, binding, layout))
    for n, (binding, index) in enumerate(zip(outputs, out_index)):
        if layout == "nchw" and binding.perm:
            out_index[n] = index = _transposed_output(model, graph, index, binding.perm, tail, schema)
        signed_outputs.append(_renamed(graph, index, binding, layout))
    graph.operators = head + list(graph.operators) + tail
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = SIGNATURE_KEY, 0
    # each name maps to its own tensor: the file's ends need not come in the bindings' order (the
    # TFLite converter's int8 files list their inputs sorted by name)
    signature.inputs = [_tensor_map(schema, b.name, i) for b, i in zip(signed_inputs, in_index)]
    signature.outputs = [_tensor_map(schema, b.name, i) for b, i in zip(signed_outputs, out_index)]
    model.signatureDefs = [signature]
    write_model(model, path)
    return signed_inputs, signed_outputs


def adopt_signature_names(path: Path) -> None:
    """Name a file's input and output tensors after its own SignatureDef keys, in place.

    The TFLite converter writes quantized files from onnx2tf's SavedModel with tensors named
    ``serving_default_image:0`` / ``PartitionedCall:0`` and a signature keyed ``image`` / ``output_0``;
    onnx2tf's float files have no signature and tensors named as the ONNX inputs. After this both
    kinds bind the same way (inputs by the ONNX name, outputs by value) and ``sign_tflite`` replaces
    the signature with the PyTorch names. A file without a signature is left untouched.
    """
    model = read_model(path, ConversionError, "name its tensors after its signature")
    if not model.signatureDefs or len(model.subgraphs) != 1:
        return
    graph = model.subgraphs[0]
    signature = model.signatureDefs[0]
    for entry in list(signature.inputs or []) + list(signature.outputs or []):
        graph.tensors[entry.tensorIndex].name = text(entry.name).encode()
    write_model(model, path)


def _tensor_index(graph, names: dict[str, int], binding: TensorBinding, path: Path, kind: str) -> int:
    ends = graph.inputs if kind == "input" else graph.outputs
    if binding.raw_name in names and names[binding.raw_name] in ends:
        return names[binding.raw_name]
    if len(ends) == 1:
        return int(ends[0])
    raise ConversionError(f"{path.name} has no {kind} tensor named {binding.raw_name!r}")


def _renamed(graph, index: int, binding: TensorBinding, layout: str) -> TensorBinding:
    """The tensor at ``index`` takes the PyTorch name; it is the file's end of ``binding`` from now on."""
    graph.tensors[index].name = binding.name.encode()
    perm = None if layout == "nchw" else binding.perm
    return dataclasses.replace(binding, raw_name=binding.name, perm=perm)


def _transposed_input(model, graph, index: int, perm: list[int], head: list, schema) -> int:
    """A new PyTorch-layout input feeding a TRANSPOSE into the old channel-last one; return its index."""
    old = graph.tensors[index]
    inverse = list(np.argsort(perm))
    new = _like(old, inverse, schema)
    graph.tensors.append(new)
    new_index = len(graph.tensors) - 1
    head.append(_transpose_op(model, graph, new_index, index, perm, schema))
    graph.inputs = [new_index if i == index else i for i in graph.inputs]
    return new_index


def _transposed_output(model, graph, index: int, perm: list[int], tail: list, schema) -> int:
    """A TRANSPOSE from the channel-last output into a new PyTorch-layout output; return its index."""
    new = _like(graph.tensors[index], perm, schema)
    graph.tensors.append(new)
    new_index = len(graph.tensors) - 1
    tail.append(_transpose_op(model, graph, index, new_index, perm, schema))
    graph.outputs = [new_index if i == index else i for i in graph.outputs]
    return new_index


def _like(tensor, order: list[int], schema):
    """A copy of ``tensor``'s type and quantization with its axes taken in ``order``; no data."""
    new = schema.TensorT()
    new.type, new.quantization, new.buffer = tensor.type, tensor.quantization, 0
    new.shape = [int(tensor.shape[i]) for i in order]
    if tensor.shapeSignature is not None and len(tensor.shapeSignature):
        new.shapeSignature = [int(tensor.shapeSignature[i]) for i in order]
    return new


def _transpose_op(model, graph, source: int, target: int, perm: list[int], schema):
    perm_index = int32_constant(model, graph, perm, f"t2tf_perm_{target}")
    op = schema.OperatorT()
    version = 1 if graph.tensors[source].type in (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16) else 2
    op.opcodeIndex = opcode_index(model, TRANSPOSE, version)
    op.inputs, op.outputs = [source, perm_index], [target]
    op.builtinOptionsType = schema.BuiltinOptions.TransposeOptions
    op.builtinOptions = schema.TransposeOptionsT()
    return op


def _tensor_map(schema, name: str, index: int):
    entry = schema.TensorMapT()
    entry.name, entry.tensorIndex = name, int(index)
    return entry
