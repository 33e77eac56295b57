"""One minimal ONNX model per operator, with typical attributes, for measuring onnx2tf support.

Each case is a single node (plus constant initializers) over small tensors, at opset 18 unless
the operator needs another. ``build_case(op)`` returns the model and onnxruntime-ready feeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OPSET = 18
IMAGE = (1, 3, 8, 8)


@dataclass
class OpCase:
    op: str
    inputs: dict[str, np.ndarray]  # graph inputs (fed at run time)
    consts: dict[str, np.ndarray] = field(default_factory=dict)  # initializers
    attrs: dict[str, Any] = field(default_factory=dict)
    order: list[str] | None = None  # node input order, "" for an omitted optional input
    outputs: int = 1
    opset: int = OPSET
    domain: str = ""
    # Nodes before the measured one, as exporters write them: (op_type, inputs, outputs, attrs).
    prelude: list[tuple[str, list[str], list[str], dict]] = field(default_factory=list)


def _f(shape=IMAGE, low=-2.0, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _tensor(values):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, np.float32), "value")


def _i64(values):
    return np.array(values, dtype=np.int64)


UNARY = ["Abs", "Atan", "Ceil", "Cos", "Cosh", "Elu", "Erf", "Exp", "Floor", "HardSigmoid", "HardSwish",
         "Identity", "LeakyRelu", "Mish", "Neg", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Sinh",
         "Softplus", "Softsign", "Tan", "Tanh", "ThresholdedRelu", "Celu", "Shrink", "IsNaN", "IsInf", "Asinh",
         "GlobalAveragePool", "GlobalMaxPool", "MeanVarianceNormalization", "Dropout"]
UNIT_RANGE = ["Acos", "Asin", "Atanh"]
POSITIVE = ["Log", "Sqrt", "Reciprocal"]
BINARY = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum", "Equal", "Greater", "GreaterOrEqual", "Less",
          "LessOrEqual"]
BOOL_BINARY = ["And", "Or", "Xor"]
INT_BINARY = ["BitwiseAnd", "BitwiseOr", "BitwiseXor"]
REDUCE_AXES_INPUT = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                     "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def _special() -> dict[str, OpCase]:
    x = _f()
    cases = [
        OpCase("Acosh", {"X": _f(low=1.1, high=3.0)}),
        OpCase("Pow", {"X": _f(low=0.5, high=2.0), "Y": _f(low=0.5, high=2.0, seed=1)}),
        OpCase("Mod", {"X": _f(seed=2), "Y": _f(low=0.5, high=2.0, seed=3)}, attrs={"fmod": 1}),
        OpCase("PRelu", {"X": x}, {"slope": _f((3, 1, 1), 0.0, 0.5, 4)}),
        OpCase("Where", {"C": _f(seed=5) > 0, "X": x, "Y": _f(seed=6)}),
        OpCase("Not", {"X": x > 0}),
        OpCase("BitShift", {"X": np.arange(8, dtype=np.uint8), "Y": np.ones(8, np.uint8)}, attrs={"direction": "LEFT"}),
        OpCase("BitwiseNot", {"X": np.arange(8, dtype=np.int32)}),
        OpCase("Clip", {"X": x}, {"min": np.array(-1.0, np.float32), "max": np.array(1.0, np.float32)}),
        OpCase("Softmax", {"X": x}, attrs={"axis": -1}),
        OpCase("LogSoftmax", {"X": x}, attrs={"axis": -1}),
        OpCase("Hardmax", {"X": x}, attrs={"axis": -1}),
        OpCase("Flatten", {"X": x}, attrs={"axis": 1}),
        OpCase("LpNormalization", {"X": x}, attrs={"axis": 1, "p": 2}),
        OpCase("Gelu", {"X": x}, opset=20),
        OpCase("ArgMax", {"X": x}, attrs={"axis": 1, "keepdims": 1}),
        OpCase("ArgMin", {"X": x}, attrs={"axis": 1, "keepdims": 1}),
        OpCase("TopK", {"X": x}, {"K": _i64([3])}, attrs={"axis": -1}, outputs=2),
        OpCase("CumSum", {"X": x}, {"axis": np.array(1, np.int64)}),
        OpCase("Conv", {"X": x}, {"W": _f((4, 3, 3, 3), seed=7), "B": _f((4,), seed=8)},
               attrs={"pads": [1, 1, 1, 1], "strides": [1, 1]}),
        OpCase("ConvTranspose", {"X": x}, {"W": _f((3, 4, 2, 2), seed=9)}, attrs={"strides": [2, 2]}),
        OpCase("MaxPool", {"X": x}, attrs={"kernel_shape": [2, 2], "strides": [2, 2]}),
        OpCase("AveragePool", {"X": x}, attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        OpCase("LpPool", {"X": x}, attrs={"kernel_shape": [2, 2], "strides": [2, 2], "p": 2}),
        OpCase("BatchNormalization", {"X": x}, {"scale": _f((3,), 0.5, 1.5, 10), "B": _f((3,), seed=11),
                                                "mean": _f((3,), seed=12), "var": _f((3,), 0.5, 1.5, 13)}),
        OpCase("InstanceNormalization", {"X": x}, {"scale": _f((3,), 0.5, 1.5, 14), "B": _f((3,), seed=15)}),
        OpCase("LayerNormalization", {"X": _f((2, 5, 16))}, {"scale": _f((16,), 0.5, 1.5, 16), "B": _f((16,), seed=17)},
               attrs={"axis": -1}),
        OpCase("GroupNormalization", {"X": _f((1, 4, 6, 6))}, {"scale": _f((4,), 0.5, 1.5, 18),
                                                               "bias": _f((4,), seed=19)},
               attrs={"num_groups": 2}, opset=21),
        OpCase("LRN", {"X": x}, attrs={"size": 3}),
        OpCase("Gemm", {"A": _f((2, 6))}, {"B": _f((5, 6), seed=20), "C": _f((5,), seed=21)}, attrs={"transB": 1}),
        OpCase("MatMul", {"A": _f((2, 4, 6))}, {"B": _f((6, 5), seed=22)}),
        OpCase("Einsum", {"A": _f((2, 3, 4)), "B": _f((2, 4, 5), seed=23)}, attrs={"equation": "bij,bjk->bik"}),
        OpCase("DepthToSpace", {"X": _f((1, 8, 4, 4))}, attrs={"blocksize": 2, "mode": "DCR"}),
        OpCase("SpaceToDepth", {"X": x}, attrs={"blocksize": 2}),
        OpCase("Resize", {"X": x}, {"scales": np.array([1, 1, 2, 2], np.float32)}, attrs={"mode": "linear"},
               order=["X", "", "scales"]),
        OpCase("GridSample", {"X": x, "G": _f((1, 5, 5, 2), -1.0, 1.0, 24)}, attrs={"align_corners": 0}, opset=16),
        OpCase("LSTM", {"X": _f((5, 1, 4))}, {"W": _f((1, 12, 4), seed=25), "R": _f((1, 12, 3), seed=26)},
               attrs={"hidden_size": 3}, outputs=1),
        OpCase("GRU", {"X": _f((5, 1, 4))}, {"W": _f((1, 9, 4), seed=27), "R": _f((1, 9, 3), seed=28)},
               attrs={"hidden_size": 3}, outputs=1),
        OpCase("RNN", {"X": _f((5, 1, 4))}, {"W": _f((1, 3, 4), seed=29), "R": _f((1, 3, 3), seed=30)},
               attrs={"hidden_size": 3}, outputs=1),
        OpCase("Reshape", {"X": x}, {"shape": _i64([1, 3, 64])}),
        OpCase("Transpose", {"X": x}, attrs={"perm": [0, 2, 3, 1]}),
        OpCase("Concat", {"X": x, "Y": _f(seed=31)}, attrs={"axis": 1}),
        OpCase("Split", {"X": _f((1, 4, 8, 8))}, {"split": _i64([2, 2])}, attrs={"axis": 1}, outputs=2),
        OpCase("Slice", {"X": x}, {"starts": _i64([1, 2]), "ends": _i64([3, 6]), "axes": _i64([2, 3])}),
        OpCase("Squeeze", {"X": _f((1, 3, 1, 8))}, {"axes": _i64([2])}),
        OpCase("Unsqueeze", {"X": _f((3, 8))}, {"axes": _i64([0])}),
        OpCase("Expand", {"X": _f((1, 3, 1, 1))}, {"shape": _i64([1, 3, 4, 4])}),
        OpCase("Tile", {"X": x}, {"repeats": _i64([1, 1, 2, 2])}),
        OpCase("Pad", {"X": x}, {"pads": _i64([0, 0, 1, 1, 0, 0, 1, 1])}, attrs={"mode": "constant"}),
        OpCase("Gather", {"X": _f((10, 6))}, {"idx": _i64([[1, 3], [0, 9]])}, attrs={"axis": 0}),
        OpCase("GatherElements", {"X": _f((3, 4))}, {"idx": _i64([[0, 1, 2, 0], [2, 0, 1, 1]])}, attrs={"axis": 0}),
        OpCase("GatherND", {"X": _f((3, 4))}, {"idx": _i64([[0, 1], [2, 3]])}),
        OpCase("ScatterND", {"X": _f((4, 5))}, {"idx": _i64([[1], [3]]), "upd": _f((2, 5), seed=32)}),
        OpCase("ScatterElements", {"X": _f((3, 3))}, {"idx": _i64([[1, 0, 2]]), "upd": _f((1, 3), seed=33)},
               attrs={"axis": 0}),
        OpCase("Shape", {"X": x}),
        OpCase("Size", {"X": x}),
        OpCase("ConstantOfShape", {}, {"shape": _i64([2, 3])}, attrs={"value": _tensor([1.5])}),
        OpCase("Range", {}, {"start": np.array(0.0, np.float32), "limit": np.array(5.0, np.float32),
                             "delta": np.array(0.5, np.float32)}),
        OpCase("Cast", {"X": x}, attrs={"to": 7}),
        OpCase("CastLike", {"X": x}, {"like": np.zeros(1, np.int32)}),
        OpCase("OneHot", {"idx": _i64([0, 2, 1])}, {"depth": _i64([4]), "values": np.array([0.0, 1.0], np.float32)}),
        OpCase("Trilu", {"X": _f((4, 4))}, attrs={"upper": 1}),
        OpCase("ReverseSequence", {"X": _f((4, 2, 3))}, {"lens": _i64([4, 2])}, attrs={"batch_axis": 1, "time_axis": 0}),
        OpCase("NonZero", {"X": _f((3, 4)) > 0}),
        OpCase("Compress", {"X": _f((3, 4))}, {"cond": np.array([True, False, True])}, attrs={"axis": 0}),
        OpCase("EyeLike", {"X": _f((4, 4))}),
        OpCase("Det", {"X": _f((2, 3, 3))}),
        OpCase("DFT", {"X": _f((1, 8, 1))}, attrs={"onesided": 1}, opset=17),
        OpCase("STFT", {"X": _f((1, 32))}, {"step": _i64(4), "window": np.hanning(8).astype(np.float32)},
               order=["X", "step", "window"], opset=17),
        OpCase("Unique", {"X": np.array([2.0, 1.0, 2.0, 3.0], np.float32)}, attrs={"sorted": 1}),
        OpCase("NonMaxSuppression", {"boxes": np.array([[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 2, 1, 3]]], np.float32),
                                     "scores": np.array([[[0.9, 0.8, 0.7]]], np.float32)},
               {"max": _i64([2]), "iou": np.array([0.5], np.float32)}),
        OpCase("RoiAlign", {"X": x}, {"rois": np.array([[0, 0, 4, 4]], np.float32), "bi": _i64([0])},
               attrs={"output_height": 2, "output_width": 2}),
        OpCase("QuantizeLinear", {"X": x}, {"scale": np.array(0.1, np.float32), "zp": np.array(0, np.int8)}),
        OpCase("DequantizeLinear", {"X": np.arange(-8, 8, dtype=np.int8)},
               {"scale": np.array(0.1, np.float32), "zp": np.array(0, np.int8)}),
        OpCase("Upsample", {"X": x}, {"scales": np.array([1, 1, 2, 2], np.float32)}, opset=9),
        OpCase("MaxUnpool", {"X": _f((1, 1, 2, 2)), "I": _i64([[[[0, 3], [9, 15]]]])},
               attrs={"kernel_shape": [2, 2], "strides": [2, 2]}),
        OpCase("CenterCropPad", {"X": _f((6, 6, 3))}, {"shape": _i64([4, 4])}, attrs={"axes": [0, 1]}),
        OpCase("Col2Im", {"X": _f((1, 4, 9))}, {"image": _i64([4, 4]), "block": _i64([2, 2])}),
        OpCase("RandomNormalLike", {"X": x}),
        OpCase("Bernoulli", {"X": _f(low=0.0, high=1.0)}),
        OpCase("MatMulInteger", {"A": np.arange(6, dtype=np.uint8).reshape(2, 3)},
               {"B": np.arange(12, dtype=np.uint8).reshape(3, 4)}),
    ]
    return {c.op: c for c in cases}


def _variants() -> list[OpCase]:
    """Second cases for ops whose first one is unlike what exporters write (the best one counts)."""
    seq = _f((1, 5, 4))
    to_time_major = [("Transpose", ["S"], ["X"], {"perm": [1, 0, 2]})]
    return [
        OpCase("ConvTranspose", {"X": x}, {"W": _f((3, 4, 2, 2), seed=9), "B": _f((4,), seed=40)},
               attrs={"strides": [2, 2], "kernel_shape": [2, 2], "pads": [0, 0, 0, 0]}) for x in [_f()]
    ] + [
        OpCase(op, {"S": seq}, {"W": _f((1, gates * 3, 4), seed=41), "R": _f((1, gates * 3, 3), seed=42)},
               attrs={"hidden_size": 3}, order=["X", "W", "R"], prelude=to_time_major)
        for op, gates in (("LSTM", 4), ("GRU", 3), ("RNN", 1))
    ] + [
        OpCase("ConstantOfShape", {"X": _f()}, attrs={"value": _tensor([1.5])}, order=["shape"],
               prelude=[("Shape", ["X"], ["shape"], {})]),
        OpCase("Range", {"X": _f((1, 6))}, {"start": np.array(0, np.int64), "delta": np.array(1, np.int64)},
               order=["start", "limit", "delta"],
               prelude=[("Shape", ["X"], ["s"], {"start": 1}), ("Squeeze", ["s"], ["limit"], {})]),
    ]


def case_variants() -> dict[str, list[OpCase]]:
    """Every case per op: the default one first, then the variants."""
    variants: dict[str, list[OpCase]] = {op: [case] for op, case in all_cases().items()}
    for case in _variants():
        variants.setdefault(case.op, []).append(case)
    return variants


def all_cases() -> dict[str, OpCase]:
    cases: dict[str, OpCase] = {}
    for op in UNARY:
        cases[op] = OpCase(op, {"X": _f()})
    for op in UNIT_RANGE:
        cases[op] = OpCase(op, {"X": _f(low=-0.9, high=0.9)})
    for op in POSITIVE:
        cases[op] = OpCase(op, {"X": _f(low=0.1, high=3.0)})
    for op in BINARY:
        cases[op] = OpCase(op, {"X": _f(), "Y": _f(seed=1)})
    for op in BOOL_BINARY:
        cases[op] = OpCase(op, {"X": _f() > 0, "Y": _f(seed=1) > 0})
    for op in INT_BINARY:
        cases[op] = OpCase(op, {"X": np.arange(8, dtype=np.int32), "Y": np.arange(8, 16, dtype=np.int32)})
    for op in REDUCE_AXES_INPUT:
        low = 0.1 if op in ("ReduceLogSum", "ReduceProd") else -2.0
        cases[op] = OpCase(op, {"X": _f(low=low)}, {"axes": _i64([2, 3])}, attrs={"keepdims": 1})
    cases.update(_special())
    return cases


def build_case(case: OpCase):
    """The one-node ModelProto for ``case`` (output types from ONNX shape inference) and its feeds."""
    import onnx
    from onnx import helper, numpy_helper

    names = case.order or [*case.inputs, *case.consts]
    node = helper.make_node(case.op, names, [f"out{i}" for i in range(case.outputs)], name=f"{case.op}_0",
                            domain=case.domain, **case.attrs)
    nodes = [helper.make_node(op, ins, outs, name=f"prelude_{i}", **attrs)
             for i, (op, ins, outs, attrs) in enumerate(case.prelude)] + [node]
    graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
                    for n, a in case.inputs.items()]
    initializers = [numpy_helper.from_array(a, n) for n, a in case.consts.items()]
    graph = helper.make_graph(nodes, f"{case.op}_case", graph_inputs, [], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)])
    model.ir_version = min(model.ir_version, 10)
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v for v in inferred.graph.value_info}
    for i in range(case.outputs):
        name = f"out{i}"
        if name in types:
            model.graph.output.append(types[name])
        else:
            model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model, dict(case.inputs)
