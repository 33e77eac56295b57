"""Re-export onnx2tf's SavedModel so ``serving_default`` speaks PyTorch's language.

onnx2tf turns rank-3/4/5 inputs channel-last (NCHW → NHWC), renames outputs (``logits`` →
``output_0``), and on some graphs only converts with a fixed batch. The wrapper written here takes
and returns the ONNX (= PyTorch) names, layout and dtypes with a dynamic batch axis, so a client
written against the PyTorch model works unchanged against TF Serving.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from torch2tf.errors import ConversionError
from torch2tf.native_logs import import_tensorflow
from torch2tf.specs import SIGNATURE_KEY, SignaturePlan, TensorBinding, TensorSpec, channel_last_perm

# Part of the cache key of the serving SavedModels written around onnx2tf's: change it with the wrapper.
SERVING_RULE = "names, layout, dtypes; a fixed raw batch mapped over rows"


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


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", name.lower()).strip("_")


def _shape_fits(expected: tuple, actual: tuple) -> bool:
    return len(expected) == len(actual) and all(
        e is None or a is None or e == a for e, a in zip(expected, actual))


def plan_inputs(specs: list[TensorSpec], raw_inputs: dict[str, tuple[tuple, str]],
                keep_shape_names: list[str]) -> tuple[list[TensorBinding], int | None]:
    """Bind each ONNX input to onnx2tf's input by name; derive the layout permutation from shapes."""
    by_norm = {_normalized(k): k for k in raw_inputs}
    keys = signature_keys([s.name for s in specs])
    bindings = []
    raw_batch = None
    for spec in specs:
        key = keys[spec.name]  # what the rewrites named it in onnx2tf's copy, if TensorFlow could not take it
        raw_name = next((n for n in (spec.name, key) if n in raw_inputs), None) or by_norm.get(_normalized(key))
        if raw_name is None:
            raise ConversionError(f"onnx2tf's SavedModel has no input matching {spec.name!r} "
                                  f"(it has {', '.join(raw_inputs)})")
        raw_shape, raw_dtype = raw_inputs[raw_name]
        rank = len(spec.shape)
        perm = None
        if 3 <= rank <= 5 and spec.name not in keep_shape_names:
            permuted = tuple(spec.shape[i] for i in channel_last_perm(rank))
            if _shape_fits(permuted, raw_shape):
                perm = channel_last_perm(rank)
        if perm is None and not _shape_fits(spec.shape, raw_shape):
            raise ConversionError(f"onnx2tf's input {raw_name} has shape {raw_shape}, which does not "
                                  f"match {spec.name} {spec.shape_text()} in any known layout")
        if raw_shape and raw_shape[0] is not None:
            raw_batch = raw_shape[0]
        bindings.append(TensorBinding(spec.name, raw_name, perm, spec.dtype, raw_dtype, key))
    return bindings, raw_batch


def read_raw_signature(raw_dir: Path) -> tuple[object, dict[str, tuple[tuple, str]]]:
    tf = import_tensorflow()

    try:
        raw = tf.saved_model.load(str(raw_dir))
        fn = raw.signatures[SIGNATURE_KEY]
    except Exception as exc:
        raise ConversionError(f"cannot load onnx2tf's SavedModel: {str(exc).splitlines()[0]}") from exc
    specs = fn.structured_input_signature[1]
    return raw, {name: (tuple(spec.shape.as_list()), spec.dtype.name) for name, spec in specs.items()}


def run_raw(raw: object, inputs: list[TensorBinding], feeds: dict[str, np.ndarray],
            raw_batch: int | None) -> dict[str, np.ndarray]:
    """Call onnx2tf's signature directly on PyTorch-layout feeds (row by row for a fixed batch)."""
    tf = import_tensorflow()

    fn = raw.signatures[SIGNATURE_KEY]
    batch = next(iter(feeds.values())).shape[0]
    rows = range(batch) if raw_batch is not None else [slice(None)]
    results: dict[str, list[np.ndarray]] = {}
    for row in rows:
        kwargs = {}
        for b in inputs:
            value = feeds[b.name][row:row + 1] if raw_batch is not None else feeds[b.name]
            value = np.transpose(value, b.perm) if b.perm else value
            kwargs[b.raw_name] = tf.cast(tf.constant(value), b.raw_dtype)
        for key, value in fn(**kwargs).items():
            results.setdefault(key, []).append(value.numpy())
    return {k: np.concatenate(v, axis=0) for k, v in results.items()}


def _over_rows(tf, call_raw, raw_values: list, out_signature: dict) -> dict:
    """A raw model with a fixed batch of 1 (onnx2tf could not convert it dynamically) mapped over the rows, which
    gives the signature its dynamic batch back. (A tf.cond calling the raw model directly for one row ran that
    branch for every batch in TF 2.21: batch 3 came back with 1 row. The loop stays; benchmarks/dynamic_axes.py
    measures it.)"""
    def one_row(row):
        outs = call_raw([tf.expand_dims(v, 0) for v in row])
        return {k: tf.squeeze(outs[k], 0) for k in out_signature}

    return tf.map_fn(one_row, tuple(raw_values), fn_output_signature=out_signature)


def write_serving_saved_model(raw: object, out_dir: Path, plan: SignaturePlan, specs: list[TensorSpec]) -> None:
    """Save a SavedModel whose serving_default follows ``plan`` (names, layout, dtypes, dynamic batch).

    ``raw`` is onnx2tf's SavedModel as loaded by ``read_raw_signature``; it is wrapped, not reloaded.
    """
    tf = import_tensorflow()

    raw_fn = raw.signatures[SIGNATURE_KEY]
    by_name = {s.name: s for s in specs}
    nhwc = plan.layout == "nhwc"

    def public_shape(binding: TensorBinding) -> list:
        shape = [None, *by_name[binding.name].shape[1:]]
        if nhwc and binding.perm:
            shape = [shape[i] for i in binding.perm]
        return shape

    input_signature = [tf.TensorSpec(public_shape(b), tf.as_dtype(b.dtype), name=b.key or b.name) for b in plan.inputs]

    def to_raw(binding: TensorBinding, value):
        if binding.perm and not nhwc:
            value = tf.transpose(value, binding.perm)
        return tf.cast(value, binding.raw_dtype)

    def from_raw(binding: TensorBinding, value):
        if binding.perm and not nhwc:
            value = tf.transpose(value, binding.perm)
        return tf.cast(value, binding.dtype)

    def call_raw(raw_values):
        return raw_fn(**{b.raw_name: v for b, v in zip(plan.inputs, raw_values)})

    out_signature = {b.raw_name: tf.TensorSpec(raw_fn.structured_outputs[b.raw_name].shape[1:],
                                               raw_fn.structured_outputs[b.raw_name].dtype)
                     for b in plan.outputs}

    def serve(*args):
        raw_values = [to_raw(b, a) for b, a in zip(plan.inputs, args)]
        raw_out = call_raw(raw_values) if plan.raw_batch is None else _over_rows(tf, call_raw, raw_values, out_signature)
        return {b.name: from_raw(b, raw_out[b.raw_name]) for b in plan.outputs}

    module = tf.Module()
    module.raw = raw
    module.serve = tf.function(serve, input_signature=input_signature)
    try:
        tf.saved_model.save(module, str(out_dir),
                            signatures={SIGNATURE_KEY: module.serve.get_concrete_function()})
    except Exception as exc:
        raise ConversionError(f"re-exporting the serving signature failed: {str(exc).splitlines()[0]}") from exc
