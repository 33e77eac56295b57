"""The samples onnx2tf checks its transposition choices on (convert/onnx2tf_samples.py): seeded normal
values for float inputs of rank ≤ 2, where onnx2tf's own would be ones; its own left everywhere else."""
from __future__ import annotations

import numpy as np
import pytest

from torch2tf.conversion.onnx2tf_samples import validation_inputs


def _onnx(tmp_path, inputs: dict[str, tuple[int, list]]):
    """A graph of Identity nodes over ``inputs`` (name → (elem type, dims; str for a symbolic dim))."""
    import onnx
    from onnx import helper

    values = [helper.make_tensor_value_info(n, t, dims) for n, (t, dims) in inputs.items()]
    outputs = [helper.make_tensor_value_info(f"{n}_out", t, dims) for n, (t, dims) in inputs.items()]
    nodes = [helper.make_node("Identity", [n], [f"{n}_out"]) for n in inputs]
    model = helper.make_model(helper.make_graph(nodes, "g", values, outputs),
                              opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return str(path)


def test_float_inputs_of_rank_two_or_less_get_seeded_normal_values(tmp_path):
    from onnx import TensorProto

    path = _onnx(tmp_path, {"audio": (TensorProto.FLOAT, ["N", 1600]), "mask": (TensorProto.INT64, ["N", 1600])})
    params = validation_inputs(path, {"audio": [None, 1600], "mask": [None, 1600]}, None, 7, tmp_path / "samples")
    assert [p[0] for p in params] == ["audio", "mask"] and all(p[2:] == [0.0, 1.0] for p in params)
    audio, mask = (np.load(p[1]) for p in params)
    assert audio.shape == (1, 1600) and audio.dtype == np.float32 and 0.8 < audio.std() < 1.2
    assert mask.dtype == np.int64 and (mask == 1).all()  # what onnx2tf would have fed: ids and masks stay valid
    again = validation_inputs(path, {"audio": [None, 1600], "mask": [None, 1600]}, None, 7, tmp_path / "again")
    np.testing.assert_array_equal(np.load(again[0][1]), audio)  # seeded: the cache key's seed covers it
    fixed = validation_inputs(path, {"audio": [None, 1600], "mask": [None, 1600]}, 1, 7, tmp_path / "fixed")
    assert np.load(fixed[0][1]).shape == (1, 1600)


@pytest.mark.parametrize("inputs, shapes", [
    ({"image": (1, ["N", 3, 8, 8])}, {"image": [None, 3, 8, 8]}),  # onnx2tf's own (seeded) images
    ({"sequence": (1, ["N", 20, 16])}, {"sequence": [None, 20, 16]}),  # onnx2tf transposes rank 3: its own
    ({"ids": (7, ["N", 12]), "mask": (7, ["N", 12])}, {"ids": [None, 12], "mask": [None, 12]}),  # no float
    ({"audio": (1, ["N", "T"])}, {"audio": [None, None]}),  # a dynamic length: nothing to sample
], ids=["image", "rank-3", "integers-only", "dynamic-length"])
def test_onnx2tf_keeps_its_own_samples_elsewhere(tmp_path, inputs, shapes):
    assert validation_inputs(_onnx(tmp_path, inputs), shapes, None, 0, tmp_path / "samples") is None
    assert not (tmp_path / "samples").exists()
