"""One runner per backend, all with ``infer(feeds) -> {output name: array}`` in PyTorch's terms.

Feeds and results use the PyTorch/ONNX input and output names and layout; each runner hides its
backend's names and layout. Heavy libraries are imported when a runner is created.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from torch2tf.binding import ForwardCall
from torch2tf.errors import ArtifactLoadError, ArtifactRunError, InputSpecError
from torch2tf.model_source import run_forward
from torch2tf.native_logs import filtered_native_stderr, import_tensorflow, make_interpreter
from torch2tf.specs import SIGNATURE_KEY, SignaturePlan, TensorBinding
from torch2tf.tflite.inventory import read_tflite_ops


class Runner:
    """Base: checks feed names, delegates to ``infer_impl``."""

    name = "runner"
    input_names: list[str] = []
    lingers = False  # keeps the cores busy for a while after a call returns (bench times it apart)

    def __init__(self) -> None:
        self.timings: list[float] = []  # seconds of each timed call (``timed``; a served runner: each request)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise InputSpecError(f"{self.name}: missing inputs {missing}; it takes {self.input_names}")
        return self.infer_impl({n: feeds[n] for n in self.input_names})

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def prepare(self, feeds: dict[str, np.ndarray]):
        """A call that runs the model on ``feeds`` with what can be done once (layout, dtype) done: what
        ``bench`` times. This base: the plain ``infer``."""
        return lambda: self.infer(feeds)

    def timed(self, feeds: dict[str, np.ndarray]) -> Callable[[], None]:
        """``prepare(feeds)`` as a call that records its own seconds in ``timings``."""
        call = self.prepare(feeds)

        def run() -> None:
            start = time.perf_counter()
            call()
            self.timings.append(time.perf_counter() - start)
        return run


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, module: Any, binding: ForwardCall, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.module = module
        self.binding = binding
        self.input_names = input_names
        self.output_names = output_names

    def infer_impl(self, feeds):
        return dict(zip(self.output_names, run_forward(self.module, self.binding, feeds).values))


class OrtRunner(Runner):
    name = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int = 0, profile_prefix: Path | None = None) -> None:
        """``profile_prefix``: onnxruntime's profiler on; ``session.end_profiling()`` writes its JSON there."""
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        if profile_prefix is not None:
            options.enable_profiling = True
            options.profile_file_prefix = str(profile_prefix)
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ArtifactLoadError(f"onnxruntime cannot load {onnx_path}: {str(exc).splitlines()[0]}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def infer_impl(self, feeds):
        return dict(zip(self.output_names, self.session.run(self.output_names, feeds)))

    def prepare(self, feeds):
        chosen = {n: feeds[n] for n in self.input_names}
        return lambda: self.session.run(self.output_names, chosen)


class SavedModelRunner(Runner):
    """The SavedModel's ``serving_default``, exactly as TF Serving would call it."""

    name = "saved_model"
    lingers = True

    def __init__(self, saved_model_dir: Path, plan: SignaturePlan | None = None) -> None:
        """With a ``plan``: feeds by PyTorch name (sent under the signature's keys); with layout nhwc,
        feeds and results are moved to/from channel-last."""
        super().__init__()
        tf = import_tensorflow()

        self._nhwc = plan.layout == "nhwc" if plan else False
        self._perms_in = {b.name: b.perm for b in plan.inputs} if plan else {}
        self._perms_out = {b.name: b.perm for b in plan.outputs} if plan else {}
        self._keys = plan.input_keys() if plan else {}

        try:
            self._model = tf.saved_model.load(str(saved_model_dir))
            self._fn = self._model.signatures[SIGNATURE_KEY]
        except Exception as exc:
            raise ArtifactLoadError(f"cannot load SavedModel {saved_model_dir}: {str(exc).splitlines()[0]}") from exc
        self.input_specs = self._fn.structured_input_signature[1]
        names = {key: name for name, key in self._keys.items()}
        self.input_names = [names.get(key, key) for key in self.input_specs]
        self.output_names = list(self._fn.structured_outputs)

    def infer_impl(self, feeds):
        tf = import_tensorflow()

        if self._nhwc:
            feeds = {n: _permute(v, self._perms_in.get(n)) for n, v in feeds.items()}
        kwargs = {self._keys.get(n, n): tf.constant(v) for n, v in feeds.items()}
        outputs = {n: v.numpy() for n, v in self._fn(**kwargs).items()}
        if self._nhwc:
            outputs = {n: _permute(v, self._perms_out.get(n)) for n, v in outputs.items()}
        return outputs

    def prepare(self, feeds):
        tf = import_tensorflow()

        if self._nhwc:
            feeds = {n: _permute(v, self._perms_in.get(n)) for n, v in feeds.items()}
        kwargs = {self._keys.get(n, n): tf.constant(feeds[n]) for n in self.input_names}
        return lambda: [v.numpy() for v in self._fn(**kwargs).values()]


def _permute(value: np.ndarray, perm: list[int] | None) -> np.ndarray:
    return np.transpose(value, perm) if perm else value


class TfliteRunner(Runner):
    """A .tflite file through ai_edge_litert, its tensors found through the ``serving_default``
    signature (by PyTorch name) when the file has one, by tensor name otherwise (older outputs).

    A TFLite model converted with a fixed batch is run row by row; one with dynamic axes (shape_signature -1)
    is resized to each feed's shape.
    """

    name = "tflite"

    def __init__(self, path: Path, inputs: list[TensorBinding], outputs: list[TensorBinding],
                 threads: int = 2, inspect: bool = False) -> None:
        """``inspect``: every intermediate tensor stays readable after a run (no XNNPACK; see make_interpreter)."""
        super().__init__()
        try:
            self.interpreter = make_interpreter(str(path), threads, inspect=inspect)
        except Exception as exc:
            raise ArtifactLoadError(f"cannot load TFLite file {path}: {str(exc).splitlines()[0]}") from exc
        self.path = Path(path)
        self.flex_ops = read_tflite_ops(self.path).flex
        self.inputs = inputs
        self.outputs = outputs
        self.input_names = [b.name for b in inputs]
        if SIGNATURE_KEY in self.interpreter.get_signature_list():
            signature = self.interpreter.get_signature_runner(SIGNATURE_KEY)
            self._in_details, self._out_details = signature.get_input_details(), signature.get_output_details()
        else:
            self._in_details = {d["name"]: d for d in self.interpreter.get_input_details()}
            self._out_details = {d["name"]: d for d in self.interpreter.get_output_details()}
        self.fixed_batch = any(d["shape_signature"][0] != -1 for d in self._in_details.values()
                               if len(d["shape_signature"]))
        self.resizable = any(-1 in list(d["shape_signature"]) for d in self._in_details.values())
        self._allocated_shapes: tuple | None = None  # the feeds' shapes the interpreter is sized for

    def run_raw(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on PyTorch-layout feeds; return outputs under the TFLite output names, unpermuted."""
        batch = next(iter(feeds.values())).shape[0]
        if self.fixed_batch and batch != 1:
            rows = [self.run_raw({k: v[i:i + 1] for k, v in feeds.items()}) for i in range(batch)]
            return {k: np.concatenate([r[k] for r in rows], axis=0) for k in rows[0]}
        for index, value in self._native_feeds(feeds):
            self.interpreter.set_tensor(index, value)
        try:
            self.interpreter.invoke()
        except RuntimeError as exc:
            raise ArtifactRunError(f"TFLite could not run {self.path.name}: {_first_sentence(exc)}") from exc
        return {name: _from_tensor_dtype(self.interpreter.get_tensor(d["index"]), d)
                for name, d in self._out_details.items()}

    def prepare(self, feeds: dict[str, np.ndarray]):
        """The file's own layout and dtypes made once (what a caller holding NHWC data does); the call sets
        them, invokes and reads the outputs."""
        if self.fixed_batch and next(iter(feeds.values())).shape[0] != 1:
            return super().prepare(feeds)
        native = self._native_feeds(feeds)
        outputs = [d["index"] for d in self._out_details.values()]

        def call():
            for index, value in native:
                self.interpreter.set_tensor(index, value)
            self.interpreter.invoke()
            return [self.interpreter.get_tensor(i) for i in outputs]
        return call

    def _native_feeds(self, feeds: dict[str, np.ndarray]) -> list[tuple[int, np.ndarray]]:
        """(tensor index, value in the file's layout and dtype) per input, the interpreter sized for the batch."""
        shapes = tuple(feeds[b.name].shape for b in self.inputs)
        if self._allocated_shapes != shapes:
            if self.resizable:  # a dynamic batch or named dim: sized for these feeds
                for b in self.inputs:
                    shape = list(feeds[b.name].shape)
                    shape = [shape[i] for i in b.perm] if b.perm else shape
                    self.interpreter.resize_tensor_input(self._tflite_input(b)["index"], shape)
            self._allocate()
            self._allocated_shapes = shapes
        native = []
        for b in self.inputs:
            detail = self._tflite_input(b)
            value = np.transpose(feeds[b.name], b.perm) if b.perm else feeds[b.name]
            native.append((detail["index"], np.ascontiguousarray(_to_tensor_dtype(value, detail))))
        return native

    def infer_impl(self, feeds):
        raw = self.run_raw(feeds)
        results = {}
        for b in self.outputs:
            value = raw[b.raw_name]
            value = np.transpose(value, b.perm) if b.perm else value
            results[b.name] = value.astype(b.dtype)
        return results

    def _allocate(self) -> None:
        try:
            with filtered_native_stderr():  # XNNPACK announces itself on first use
                self.interpreter.allocate_tensors()
        except RuntimeError as exc:
            if self.flex_ops:
                raise ArtifactRunError(f"{self.path.name} needs Flex ops ({', '.join(self.flex_ops)}); no interpreter in "
                                       "the pinned stack links the Flex delegate, so it is not verified",
                                       hint="the SavedModel is checked; mobile apps need "
                                            "tensorflow-lite-select-tf-ops to run this file") from exc
            raise ArtifactRunError(f"TFLite cannot run {self.path.name}: {_first_sentence(exc)}") from exc

    def _tflite_input(self, binding: TensorBinding) -> dict:
        for key in (binding.raw_name, binding.name):
            if key in self._in_details:
                return self._in_details[key]
        if len(self._in_details) == 1:
            return next(iter(self._in_details.values()))
        raise ArtifactRunError(f"the TFLite model has no input named {binding.raw_name!r} "
                              f"(it has {', '.join(self._in_details)})")


def _to_tensor_dtype(value: np.ndarray, detail: dict) -> np.ndarray:
    """Quantize float feeds for an int8/uint8 input (full-integer models); plain cast otherwise."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if np.issubdtype(detail["dtype"], np.integer) and np.issubdtype(value.dtype, np.floating) and scale:
        info = np.iinfo(detail["dtype"])
        return np.clip(np.round(value / scale + zero_point), info.min, info.max).astype(detail["dtype"])
    return value.astype(detail["dtype"])


def _from_tensor_dtype(value: np.ndarray, detail: dict) -> np.ndarray:
    """Dequantize an int8/uint8 output of a full-integer model; other outputs unchanged."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    if np.issubdtype(value.dtype, np.integer) and scale and value.dtype in (np.int8, np.uint8, np.int16):
        return ((value.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return value


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text.split(". ")[0][:300]
