"""The rewrites that make TFLite files faster, on small graphs: onnxruntime says each rewritten graph
computes the same, and each leaves alone what it must not touch."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from torch2tf.conversion.rewrites.speed.hard_activations import spell_out_hard_activations
from torch2tf.conversion.rewrites.speed.nonnegative_pool import zero_pad_nonnegative_pools


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _pool_graph(producer: str, pool_attrs: str) -> onnx.ModelProto:
    return onnx.parser.parse_model(f'''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[N, 4, 9, 10] x) => (float[N, 4, 5, 5] y) {{
            z = {producer}
            y = MaxPool <{pool_attrs}> (z)
        }}''')


def test_padded_max_pool_over_a_relu_pads_with_zero(rng):
    x = rng.standard_normal((2, 4, 9, 10)).astype(np.float32)
    model = _pool_graph("Relu(x)", "kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]")
    before = _run(model, {"x": x})
    assert "1 padded MaxPool" in zero_pad_nonnegative_pools(model)
    onnx.checker.check_model(model)
    pools = [n for n in model.graph.node if n.op_type == "MaxPool"]
    assert not any(a.name == "pads" for a in pools[0].attribute) and [n.op_type for n in model.graph.node] == [
        "Relu", "Pad", "MaxPool"]
    np.testing.assert_array_equal(_run(model, {"x": x})[0], before[0])


def test_clip_from_zero_counts_as_non_negative(rng):
    x = rng.standard_normal((1, 4, 9, 10)).astype(np.float32)
    model = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[N, 4, 9, 10] x) => (float[N, 4, 5, 5] y) {
            low = Constant <value = float {0.0}> ()
            high = Constant <value = float {6.0}> ()
            z = Clip(x, low, high)
            y = MaxPool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (z)
        }''')
    before = _run(model, {"x": x})
    assert zero_pad_nonnegative_pools(model)
    np.testing.assert_array_equal(_run(model, {"x": x})[0], before[0])


def test_pools_where_zero_padding_would_differ_are_left_alone():
    cases = [("Neg(x)", "kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]"),  # may be negative
             ("Relu(x)", "kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], ceil_mode = 1"),
             ("Relu(x)", "kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], dilations = [2, 2]"),
             ("Relu(x)", "kernel_shape = [3, 3], strides = [2, 2]")]  # no padding: nothing to do
    for producer, attrs in cases:
        assert zero_pad_nonnegative_pools(_pool_graph(producer, attrs)) == "", (producer, attrs)


def test_hard_activations_spelled_out_compute_the_same(rng):
    model = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[N, 8] x) => (float[N, 8] y) {
            s = HardSwish(x)
            g1 = HardSigmoid <alpha = 0.2, beta = 0.5> (s)
            g2 = HardSigmoid <alpha = 0.16666667, beta = 0.5> (x)
            m = Mul(g1, g2)
            y = Add(m, s)
        }''')
    x = (rng.standard_normal((64, 8)) * 5).astype(np.float32)  # well past ±3: both clip ends hit
    before = _run(model, {"x": x})
    note = spell_out_hard_activations(model)
    assert note == "hard activations (int8): 1 HardSwish, 2 HardSigmoid spelled out as Add, Clip(0, 6), Mul"
    onnx.checker.check_model(model)
    assert not {n.op_type for n in model.graph.node} & {"HardSwish", "HardSigmoid"}
    np.testing.assert_allclose(_run(model, {"x": x})[0], before[0], rtol=1e-6, atol=1e-6)
    assert spell_out_hard_activations(model) == ""


def test_float_files_spell_out_hard_sigmoids_only():
    from torch2tf.conversion.rewrites.speed.hard_activations import spell_out_hard_sigmoids

    model = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[N, 8] x) => (float[N, 8] y) {
            s = HardSwish(x)
            y = HardSigmoid <alpha = 0.2, beta = 0.5> (s)
        }''')
    assert spell_out_hard_sigmoids(model) == "hard activations: 1 HardSigmoid spelled out as Add, Clip(0, 6), Mul"
    assert [n.op_type for n in model.graph.node] == ["HardSwish", "Mul", "Add", "Clip", "Mul"]


def _group_norm_graph(groups: int, scale: str, bias: str) -> onnx.ModelProto:
    return onnx.parser.parse_model(f'''
        <ir_version: 8, opset_import: ["" : 18]>
        g (float[N, 6, 5, 7] x) => (float[N, 6, 5, 7] y) {{
            to3d = Constant <value = int64[3] {{0, {groups}, -1}}> ()
            flat = Reshape(x, to3d)
            scale = Constant <value = float[{groups}] {{{scale}}}> ()
            bias = Constant <value = float[{groups}] {{{bias}}}> ()
            normed = InstanceNormalization <epsilon = 0.001> (flat, scale, bias)
            back = Shape(x)
            y = Reshape(normed, back)
        }}''')


def test_group_norm_kept_four_d_computes_the_same(rng):
    from torch2tf.conversion.rewrites.speed.group_norm import flatten_group_norms

    x = (rng.standard_normal((2, 6, 5, 7)) * 3 + 1).astype(np.float32)
    for groups, scale, bias in ((3, "1.0, 1.0, 1.0", "0.0, 0.0, 0.0"), (2, "0.5, 2.0", "0.1, -0.3"),
                                (6, "1, 2, 3, 4, 5, 6", "0, 0, 0, 0, 0, 1")):
        model = _group_norm_graph(groups, scale, bias)
        before = _run(model, {"x": x})
        assert "1 Reshape/InstanceNormalization/Reshape" in flatten_group_norms(model)
        onnx.checker.check_model(model)
        ops = {n.op_type for n in model.graph.node}
        assert not ops & {"Reshape", "InstanceNormalization", "Shape"}, ops  # nothing leaves the 4-D layout
        np.testing.assert_allclose(_run(model, {"x": x})[0], before[0], rtol=1e-5, atol=1e-5)


def test_instance_norm_of_other_shapes_left_alone():
    from torch2tf.conversion.rewrites.speed.group_norm import flatten_group_norms

    plain = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 18]>
        g (float[N, 6, 5] x) => (float[N, 6, 5] y) {
            scale = Constant <value = float[6] {1, 1, 1, 1, 1, 1}> ()
            bias = Constant <value = float[6] {0, 0, 0, 0, 0, 0}> ()
            y = InstanceNormalization(x, scale, bias)
        }''')
    assert flatten_group_norms(plain) == ""  # a real 3-D instance norm: not a group norm in disguise


def test_large_depthwise_tiles_compute_the_same(rng):
    from onnx import TensorProto, helper, numpy_helper

    from torch2tf.conversion.rewrites.speed.large_depthwise import tile_large_depthwise

    cases = (((7, 7), [3, 3, 3, 3], True), ((9, 6), [4, 1, 4, 4], False), ((5, 5), [2, 2, 2, 2], True))
    for kernel, pads, bias in cases:
        weight = rng.standard_normal((6, 1, *kernel)).astype(np.float32)
        inputs = ["x", "w", "b"] if bias else ["x", "w"]
        conv = helper.make_node("Conv", inputs, ["y"], group=6, kernel_shape=list(kernel), pads=pads)
        initializers = [numpy_helper.from_array(weight, "w")]
        if bias:
            initializers.append(numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "b"))
        graph = helper.make_graph([conv], "dw", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, 11, 13])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6, 11, 13])],
                                  initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        x = rng.standard_normal((2, 6, 11, 13)).astype(np.float32)
        before = _run(model, {"x": x})
        note = tile_large_depthwise(model)
        if max(kernel) <= 5:
            assert note == ""  # XNNPACK runs it in one pass already
            continue
        assert "1 depthwise Conv(s) wider than 5×5" in note
        onnx.checker.check_model(model)
        sides = [list(numpy_helper.to_array(i).shape[2:]) for i in model.graph.initializer
                 if i.name.endswith("_weight")]
        assert sides and all(max(side) <= 5 for side in sides)
        np.testing.assert_allclose(_run(model, {"x": x})[0], before[0], rtol=1e-5, atol=1e-5)


def test_scalar_muls_fold_into_the_convolution_and_gemm_downstream(rng):
    from torch2tf.conversion.rewrites.int8.scale_folding import fold_scalar_muls

    model = onnx.parser.parse_model('''
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[1, 4, 6, 6] x) => (float[1, 3] y, float[1, 5, 6, 6] z) {
            s = HardSwish(x)
            pooled = GlobalAveragePool(s)
            flat = Flatten(pooled)
            w1 = Constant <value = float[3, 4] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}> ()
            b1 = Constant <value = float[3] {0.5, -1, 2}> ()
            y = Gemm <transB = 1, alpha = 0.5> (flat, w1, b1)
            w2 = Constant <value = float[5, 4, 1, 1] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                                      19, 20}> ()
            b2 = Constant <value = float[5] {1, 2, 3, 4, 5}> ()
            w3 = Constant <value = float[4, 4, 1, 1] {1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, 12, 13, -14, 15, 16}> ()
            squeezed = Conv(pooled, w3)
            excite = Sigmoid(squeezed)
            gated = Mul(s, excite)
            z = Conv(gated, w2, b2)
        }''')
    x = (rng.standard_normal((1, 4, 6, 6)) * 4).astype(np.float32)
    before = _run(model, {"x": x})
    spell_out_hard_activations(model)
    assert fold_scalar_muls(model) == "scale folding (int8): 1 Mul by a scalar folded into the weights downstream"
    onnx.checker.check_model(model)
    muls = [n for n in model.graph.node if n.op_type == "Mul"]
    assert len(muls) == 2 and {n.input[1] for n in muls} == {"excite", muls[0].input[1]}
    for got, want in zip(_run(model, {"x": x}), before):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert fold_scalar_muls(model) == ""


def test_scalar_muls_stay_where_a_path_is_not_linear_in_them():
    from torch2tf.conversion.rewrites.int8.scale_folding import fold_scalar_muls

    cases = ["m = Mul(x, c)\n a = Add(m, x)\n y = Conv(a, w)",  # Add: the other side is not scaled
             "m = Mul(x, n)\n a = Relu(m)\n y = Conv(a, w)",  # negative scale: Relu does not commute
             "m = Mul(x, c)\n a = Sigmoid(m)\n y = Conv(a, w)",
             "m = Mul(x, c)\n a = Mul(m, m)\n y = Conv(a, w)",  # scaled twice
             "m = Mul(x, c)\n r = Relu(m)\n y = Conv(x, w)\n"]  # r is a graph output below
    for body in cases:
        outputs = "float[1, 2, 3, 3] y" + (", float[1, 2, 3, 3] r" if " r = " in body else "")
        model = onnx.parser.parse_model(f'''
            <ir_version: 8, opset_import: ["" : 17]>
            g (float[1, 2, 3, 3] x) => ({outputs}) {{
                c = Constant <value = float {{0.25}}> ()
                n = Constant <value = float {{-0.25}}> ()
                w = Constant <value = float[2, 2, 1, 1] {{1, 2, 3, 4}}> ()
                {body}
            }}''')
        assert fold_scalar_muls(model) == "", body


def _strided_conv(channels: int, size: int, kernel: tuple[int, int], stride: int, pads: list[int],
                  rng) -> onnx.ModelProto:
    from onnx import helper, numpy_helper

    weight = rng.standard_normal((5, channels, *kernel)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    out = [(size + pads[a] + pads[a + 2] - kernel[a]) // stride + 1 for a in (0, 1)]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=list(kernel), strides=[stride, stride],
                          pads=pads)], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 5, *out])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_strided_convolutions_over_few_channels_fold_into_space_to_depth(rng):
    from torch2tf.conversion.rewrites.int8.space_to_depth import fold_strided_stems

    cases = [(3, 32, (7, 7), 2, [3, 3, 3, 3]),  # a ResNet stem
             (3, 16, (3, 3), 2, [1, 1, 1, 1]),  # a MobileNet stem
             (4, 12, (3, 5), 2, [0, 2, 1, 2]),  # uneven kernel and pads
             (1, 16, (6, 6), 4, [1, 1, 1, 1]),
             (2, 10, (3, 3), 2, [0, 0, 0, 0])]  # no padding at all
    for channels, size, kernel, stride, pads in cases:
        model = _strided_conv(channels, size, kernel, stride, pads, rng)
        x = rng.standard_normal((1, channels, size, size)).astype(np.float32)
        before = _run(model, {"x": x})[0]
        assert fold_strided_stems(model).startswith("strided stems (int8): 1 Conv"), (kernel, pads)
        onnx.checker.check_model(model)
        conv = next(n for n in model.graph.node if n.op_type == "Conv")
        assert [n.op_type for n in model.graph.node] == ["SpaceToDepth", "Pad", "Conv"]
        assert not any(a.name == "strides" for a in conv.attribute)
        got = _run(model, {"x": x})[0]
        assert got.shape == before.shape, (kernel, pads)
        np.testing.assert_allclose(got, before, rtol=1e-5, atol=1e-5)


def test_convolutions_space_to_depth_would_not_help_stay():
    from torch2tf.conversion.rewrites.int8.space_to_depth import fold_strided_stems

    rng = np.random.default_rng(0)
    cases = [(8, 16, (3, 3), 2, [1, 1, 1, 1]),  # 32 channels a block: no longer few
             (3, 15, (3, 3), 2, [1, 1, 1, 1]),  # odd size: blocks would not tile it
             (3, 16, (3, 3), 1, [1, 1, 1, 1]),  # stride 1
             (3, 16, (2, 2), 2, [0, 0, 0, 0])]  # kernel no wider than the stride: one tap already
    for case in cases:
        assert fold_strided_stems(_strided_conv(*case, rng)) == "", case
