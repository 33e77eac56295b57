"""A few operators of a .tflite file cut out as a model of their own (the performance tooling times them)."""
from __future__ import annotations

import copy

import numpy as np

from torch2tf.tflite.edit import constant_buffer
from torch2tf.tflite.flatbuffer import model_bytes, schema


def cut_model(model, subgraph, ops: list, shapes: dict[int, list[int]], description: bytes = b"cut out by torch2tf"
              ) -> tuple[bytes, list[int]]:
    """A model of ``ops`` (in order) alone: their constants kept, every other input fed, the last op's
    outputs returned, each fed tensor with its concrete shape (``shapes``: tensor index → shape in a full
    run). Returns the flatbuffer and the full model's tensor indices to feed, in order."""
    fb = schema()
    produced = {o for op in ops for o in op.outputs}
    tensors, buffers, remap, feeds = [], [fb.BufferT()], {}, []

    def take(index: int) -> int:
        if index < 0:
            return index
        if index not in remap:
            tensor = copy.copy(subgraph.tensors[index])
            buffer = constant_buffer(model, tensor)
            if buffer is not None:
                buffers.append(buffer)
                tensor.buffer = len(buffers) - 1
            else:
                tensor.buffer = 0
                tensor.shape = np.array(shapes.get(index, tensor.shape), dtype=np.int32)
                tensor.shapeSignature = None
                if index not in produced:
                    feeds.append(index)
            remap[index] = len(tensors)
            tensors.append(tensor)
        return remap[index]

    new_ops = []
    for op in ops:
        new_op = copy.copy(op)
        new_op.inputs = [take(i) for i in op.inputs]
        new_op.outputs = [take(i) for i in op.outputs]
        new_ops.append(new_op)
    cut = fb.SubGraphT()
    cut.tensors, cut.operators, cut.name = tensors, new_ops, b"cut"
    cut.inputs, cut.outputs = [remap[i] for i in feeds], list(new_ops[-1].outputs)
    alone = fb.ModelT()
    alone.version, alone.operatorCodes, alone.buffers = model.version, model.operatorCodes, buffers
    alone.subgraphs, alone.description = [cut], description
    return model_bytes(alone), feeds
