"""The attention-mask rewrites on small ONNX graphs: the structure changes, onnxruntime's answer does not."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from torch2tf.conversion.rewrites.fixes.bool_expand import expand_bools_as_int
from torch2tf.conversion.rewrites.fixes.index_grid import flatten_index_grids

# padding_mask[batch_idx, kv_idx] as transformers >= 5 writes it and torch.onnx exports it (after onnxsim):
# a Range over the batch and a constant arange over the keys, expanded to their broadcast and stacked.
SYMBOLIC_GRID = """
<ir_version: 8, opset_import: ["" : 18]>
g (int64[N, 6] mask) => (float[N, 1, 1, 6] y) <
    int64[1, 1, 1, 6] keys = {0, 1, 2, 3, 4, 5}, int64 zero = {0}, int64 one = {1},
    int64[3] batch_axes = {1, 2, 3}, int64[1] last = {-1}
> {
    b = Cast <to = 9> (mask)
    s = Shape <start = 0, end = 1> (mask)
    n = Squeeze (s)
    rows = Range (zero, n, one)
    rows4 = Unsqueeze (rows, batch_axes)
    grid = Max (rows4, keys)
    shape = Shape (grid)
    r = Expand (rows4, shape)
    k = Expand (keys, shape)
    r1 = Unsqueeze (r, last)
    k1 = Unsqueeze (k, last)
    idx = Concat <axis = -1> (r1, k1)
    picked = GatherND (b, idx)
    y = Cast <to = 1> (picked)
}
"""


def _run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _ops(model: onnx.ModelProto) -> set[str]:
    return {n.op_type for n in model.graph.node}


def _mask(batch: int, length: int, rng) -> np.ndarray:
    keep = rng.integers(1, length + 1, size=batch)
    return (np.arange(length)[None, :] < keep[:, None]).astype(np.int64)


def test_symbolic_grid_becomes_a_reshape(rng):
    model = onnx.parser.parse_model(SYMBOLIC_GRID)
    feeds = [{"mask": _mask(b, 6, rng)} for b in (1, 3)]
    before = [_run(model, f)[0] for f in feeds]
    assert "1 GatherND" in flatten_index_grids(model)
    assert not _ops(model) & {"GatherND", "Range", "Max", "Expand"}  # the grid's arithmetic is gone too
    onnx.checker.check_model(model)
    for f, expected in zip(feeds, before):
        np.testing.assert_array_equal(_run(model, f)[0], expected)


def _constant_grid(indices: np.ndarray, data_shape: list[int]) -> onnx.ModelProto:
    from onnx import TensorProto, helper, numpy_helper

    out_shape = list(indices.shape[:-1]) + data_shape[indices.shape[-1]:]
    nodes = [helper.make_node("GatherND", ["x", "idx"], ["y"], name="gather")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, data_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              [numpy_helper.from_array(indices.astype(np.int64), "idx")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("indices, data_shape, expected_ops", [
    # x[b, k] over a (1, 1, 1, 4) grid: the static-batch mask after onnxsim folded it
    (np.stack(np.broadcast_arrays(np.zeros((1, 1, 1, 1)), np.arange(4).reshape(1, 1, 1, 4)), -1), [1, 4], {"Unsqueeze"}),
    # x[j, i]: the components run along the grid in the other order → a transpose
    (np.stack(np.broadcast_arrays(np.arange(3).reshape(1, 3), np.arange(2).reshape(2, 1)), -1), [3, 2],
     {"Transpose", "Expand"}),
    # an arange shorter than the axis → a slice; trailing data axes are kept
    (np.arange(2).reshape(2, 1), [5, 3], {"Slice", "Expand"}),
])
def test_constant_grids(rng, indices, data_shape, expected_ops):
    model = _constant_grid(indices, data_shape)
    x = rng.standard_normal(data_shape).astype(np.float32)
    before = _run(model, {"x": x})[0]
    assert flatten_index_grids(model)
    assert "GatherND" not in _ops(model) and expected_ops <= _ops(model)
    onnx.checker.check_model(model)
    np.testing.assert_array_equal(_run(model, {"x": x})[0], before)


def test_a_real_gather_is_left_alone():
    model = _constant_grid(np.array([[2, 0], [1, 1], [0, 1]]), [3, 2])
    assert flatten_index_grids(model) == ""
    assert _ops(model) == {"GatherND"}


BOOL_EXPAND = """
<ir_version: 8, opset_import: ["" : 18]>
g (bool[N, 1, 4] m, int64[3] shape) => (bool[N, 3, 4] y) {
    y = Expand (m, shape)
}
"""


def test_bool_expand_goes_through_int32(rng):
    model = onnx.parser.parse_model(BOOL_EXPAND)
    feeds = {"m": rng.random((2, 1, 4)) < 0.5, "shape": np.array([2, 3, 4], np.int64)}
    before = _run(model, feeds)[0]
    assert "1 boolean" in expand_bools_as_int(model)
    assert [n.op_type for n in model.graph.node] == ["Cast", "Expand", "Cast"]
    assert model.graph.node[-1].output[0] == "y"
    onnx.checker.check_model(model)
    np.testing.assert_array_equal(_run(model, feeds)[0], before)
    assert expand_bools_as_int(model) == ""  # an int32 Expand is left alone


# cat([cls.expand(B, -1, -1), patches], 1) as a ViT's dynamic-batch export writes it.
CLS_TOKEN = """
<ir_version: 8, opset_import: ["" : 18]>
g (float[N, 4, 3] patches) => (float[N, 5, 3] y) <
    float[1, 1, 3] cls = {0.5, -1.0, 2.0}, int64[2] ones = {1, 1}
> {
    n = Shape <start = 0, end = 1> (patches)
    shape = Concat <axis = 0> (n, ones)
    tokens = Expand (cls, shape)
    y = Concat <axis = 1> (tokens, patches)
}
"""


def test_concat_with_broadcast_constants_becomes_pad_and_add(rng):
    from torch2tf.conversion.rewrites.fixes.broadcast_concat import pad_broadcast_concats

    model = onnx.parser.parse_model(CLS_TOKEN)
    feeds = [{"patches": rng.standard_normal((b, 4, 3)).astype(np.float32)} for b in (1, 3)]
    before = [_run(model, f)[0] for f in feeds]
    assert "1 Concat" in pad_broadcast_concats(model)
    assert _ops(model) == {"Pad", "Add"}  # the Expand and its shape arithmetic are gone
    onnx.checker.check_model(model)
    for f, expected in zip(feeds, before):
        np.testing.assert_array_equal(_run(model, f)[0], expected)


# An all-true mask expanded to [N, 1, 4, 4], turned into 0/-big and added to scores that already
# have every one of those dimensions: the Expand changes nothing.
UNUSED_BROADCAST = """
<ir_version: 8, opset_import: ["" : 18]>
g (float[N, 2, 4, 4] scores) => (float[N, 2, 4, 4] y) <
    bool[1, 1, 4, 1] keep = {1, 1, 1, 1}, int64[3] tail = {1, 4, 4}, float zero = {0.0}, float low = {-32752.0}
> {
    n = Shape <start = 0, end = 1> (scores)
    shape = Concat <axis = 0> (n, tail)
    mask = Expand (keep, shape)
    bias = Where (mask, zero, low)
    y = Add (scores, bias)
}
"""


def test_expand_that_a_later_broadcast_makes_is_removed(rng):
    from torch2tf.conversion.rewrites.fixes.expand_elision import elide_broadcast_expands

    model = onnx.parser.parse_model(UNUSED_BROADCAST)
    feeds = [{"scores": rng.standard_normal((b, 2, 4, 4)).astype(np.float32)} for b in (1, 3)]
    before = [_run(model, f)[0] for f in feeds]
    assert "1 Expand" in elide_broadcast_expands(model)
    assert "Expand" not in _ops(model)
    for f, expected in zip(feeds, before):
        np.testing.assert_array_equal(_run(model, f)[0], expected)


def test_expand_whose_shape_a_consumer_needs_stays():
    from torch2tf.conversion.rewrites.fixes.expand_elision import elide_broadcast_expands

    model = onnx.parser.parse_model(UNUSED_BROADCAST.replace("y = Add (scores, bias)", "y = Identity (bias)")
                                    .replace("float[N, 2, 4, 4] y", "float[N, 1, 4, 4] y"))
    assert elide_broadcast_expands(model) == ""  # the output itself has the expanded shape
