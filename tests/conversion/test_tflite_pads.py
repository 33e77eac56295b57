"""PADs of few channels padded as whole rows (convert/tflite_pads.py), on small TFLite files written here:
the rewritten file computes exactly what the original did, at batch 1 and 3, and what XNNPACK fuses
or already pads fast is left alone."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from torch2tf.conversion.tflite_pads import widen_narrow_pads
from torch2tf.native_logs import make_interpreter


def _tflite(tmp_path, name: str, fn, channels: int, quantize: str | None = None):
    """quantize: "int8" (full integer, calibrated on random data) or "dynamic" (int8 weights, float activations)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, 10, 12, channels], tf.float32)
    function = tf.function(fn, input_signature=[spec])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        rng = np.random.default_rng(0)
        converter.representative_dataset = lambda: ([rng.standard_normal((1, 10, 12, channels), np.float32)]
                                                     for _ in range(8))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(converter.convert())
    return path


def _run(path, x: np.ndarray) -> np.ndarray:
    interpreter = make_interpreter(path, 2)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _ops(path) -> list[str]:
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    return [flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) for op in model.subgraphs[0].operators]


def _padded_pool(x):
    import tensorflow as tf

    padded = tf.pad(tf.nn.relu(x), [[0, 0], [1, 2], [1, 3], [0, 0]])
    return tf.nn.max_pool2d(padded, 3, 2, "VALID")


@pytest.mark.parametrize("quantize", [None, "int8"], ids=["float32", "int8"])
def test_a_narrow_pad_before_a_pool_becomes_a_pad_of_whole_rows(tmp_path, rng, quantize):
    original = _tflite(tmp_path, "pool", _padded_pool, 8, quantize)
    rewritten = tmp_path / "rewritten.tflite"
    shutil.copy(original, rewritten)
    assert widen_narrow_pads(rewritten) == "narrow pads (TFLite): 1 PAD(s) of few channels padded as whole rows"
    assert _ops(rewritten).count("RESHAPE") == _ops(original).count("RESHAPE") + 2
    for batch in (1, 3):
        x = rng.standard_normal((batch, 10, 12, 8)).astype(np.float32)
        np.testing.assert_array_equal(_run(rewritten, x), _run(original, x))


def _padded_conv(x):
    """A strided convolution behind an explicit PAD, as onnx2tf writes every ONNX Conv with stride 2 and pads 1."""
    import tensorflow as tf

    kernel = tf.constant(np.random.default_rng(1).standard_normal((3, 3, 4, 32)).astype(np.float32))
    return tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), kernel, 2, "VALID")


def test_a_narrow_pad_before_a_hybrid_convolution_is_widened(tmp_path, rng):
    """In a dynamic-range file the convolution has int8 weights over float input: XNNPACK quantizes the
    input first and does not fold the PAD into it, so the PAD is widened; a float one is left alone."""
    original = _tflite(tmp_path, "hybrid", _padded_conv, 4, quantize="dynamic")
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(original))
    conv = next(op for op in model.subgraphs[0].operators
                if flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) == "CONV_2D")
    assert model.subgraphs[0].tensors[conv.inputs[1]].type == 9  # INT8 weights: a hybrid convolution
    rewritten = tmp_path / "rewritten.tflite"
    shutil.copy(original, rewritten)
    assert widen_narrow_pads(rewritten) == "narrow pads (TFLite): 1 PAD(s) of few channels padded as whole rows"
    for batch in (1, 3):
        x = rng.standard_normal((batch, 10, 12, 4)).astype(np.float32)
        np.testing.assert_array_equal(_run(rewritten, x), _run(original, x))
    float_file = _tflite(tmp_path, "float_conv", _padded_conv, 4)
    before = float_file.read_bytes()
    assert widen_narrow_pads(float_file) == "" and float_file.read_bytes() == before


def test_pads_that_are_fused_or_already_fast_are_left_alone(tmp_path):
    import tensorflow as tf

    kernel = tf.constant(np.ones((3, 3, 8, 4), np.float32))
    cases = {
        "before_conv": (lambda x: tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), kernel, 1, "VALID"), 8),
        "wide_channels": (_padded_pool, 64),  # 256-byte pixels: the plain PAD is as fast
        "rows_only": (lambda x: tf.nn.max_pool2d(tf.pad(x, [[0, 0], [1, 1], [0, 0], [0, 0]]), 3, 2, "VALID"), 8),
        "channels_padded": (lambda x: tf.nn.max_pool2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 2]]), 3, 2, "VALID"), 8),
    }
    for name, (fn, channels) in cases.items():
        path = _tflite(tmp_path, name, fn, channels)
        before = path.read_bytes()
        assert widen_narrow_pads(path) == "", name
        assert path.read_bytes() == before, name


def test_a_damaged_file_is_a_conversion_error(tmp_path):
    from torch2tf.errors import ConversionError

    path = tmp_path / "damaged.tflite"
    path.write_bytes(b"\x10\x00")
    with pytest.raises(ConversionError, match="cannot read damaged.tflite to rewrite its PADs"):
        widen_narrow_pads(path)
    assert path.read_bytes() == b"\x10\x00" and [p.name for p in tmp_path.iterdir()] == ["damaged.tflite"]
