"""The one adapter to onnx2tf: ONNX → SavedModel + float32/float16 TFLite, in a child process.

onnx2tf 1.28.8 calls sys.exit inside library code, floods stdout, seeds RNGs at import and fetches
sample images from the internet. So it runs in a child process (``python -m torch2tf.conversion.onnx_to_tf
REQUEST.json``) whose output goes to a log file; the parent turns a failure into a ConversionError.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch2tf.cache import Cache, file_digest, onnx_digest
from torch2tf.conversion.children import ANSI, WAIT_FLAG, run_onnx2tf_child, summarize_log, yield_to_parent
from torch2tf.conversion.onnx2tf_samples import SAMPLES_RULE, validation_inputs
from torch2tf.errors import ConversionError
from torch2tf.native_logs import exit_past_teardown
from torch2tf.progress import activity

DEFAULT_TIMEOUT_S = 1800
COUNTER = re.compile(r"INFO: (\d+) / (\d+)\s*$")  # onnx2tf's node counter, in its debug log
NODES_LINE = re.compile(r"TORCH2TF-NODES (\d+)/(\d+)")
# onnx2tf names its sample-image file like this and looks for it in the working directory.
_SAMPLE_SHAPE = (20, 128, 128, 3)


@dataclass
class Onnx2TfRequest:
    """What one onnx2tf run is asked to do; the strategy ladder varies these fields."""

    onnx_path: str
    output_dir: str
    static_batch: int | None = None  # fix a dynamic batch for onnx2tf (restored in the signature)
    use_onnxsim: bool = True
    keep_shape_input_names: list[str] = field(default_factory=list)  # no NCHW→NHWC for these
    disable_strict_mode: bool = False
    input_shapes: dict[str, list[int | None]] = field(default_factory=dict)
    shape_hints: dict[str, list[int]] = field(default_factory=dict)  # sizes for onnx2tf's test runs of dynamic dims
    seed: int = 0
    unroll_rnn: bool = False
    interrupt_at: list[str] = field(default_factory=list)  # stop at these ONNX tensors (localization)
    quantize: str = ""  # "", "dynamic" (int8 weights) or "int8" (full integer, needs calibration)
    calibration: dict[str, str] = field(default_factory=dict)  # input name → .npy in onnx2tf's (NHWC) layout


@dataclass
class Onnx2TfResult:
    saved_model_dir: Path
    tflite_float32: Path
    tflite_float16: Path
    log_path: Path


def run_onnx2tf(request: Onnx2TfRequest, work_dir: Path, timeout_s: int = DEFAULT_TIMEOUT_S,
                cache: Cache | None = None, meanwhile: Callable[[], object] | None = None) -> Onnx2TfResult:
    """Run onnx2tf in a child process; raise ConversionError with its last meaningful lines.

    With a ``cache``, a run on the same bytes with the same request and tool versions is not
    repeated: its output directory is copied back (only successful runs are kept). onnx2tf rewrites
    the ONNX file it is given, so it gets a copy: the caller's file stays what the key was made of
    (a quantizing run after a cached float one would otherwise copy different bytes than after a real one).
    ``meanwhile`` runs in a thread while the child converts (the caller's next step, e.g. importing
    TensorFlow); it is done when this returns.
    """
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "onnx2tf.log"
    out = Path(request.output_dir)
    stem = Path(request.onnx_path).stem
    result = Onnx2TfResult(out, out / f"{stem}_float32.tflite", out / f"{stem}_float16.tflite", log_path)
    cache = cache or Cache(None)
    key = cache.key("onnx2tf", _request_identity(request), ("onnx2tf", "tensorflow", "tf-keras", "onnx"))
    if cache.fetch("onnx2tf", key, out) is not None:
        log_path.write_text(f"onnx2tf output taken from the cache (entry {key})\n")
        return result
    private = copy_onnx(Path(request.onnx_path), work_dir / "onnx2tf-input")
    request_path = work_dir / "onnx2tf_request.json"
    request_path.write_text(json.dumps(dict(asdict(request), onnx_path=str(private))))
    with _alongside(meanwhile), activity(lambda: nodes_converted(log_path)):
        returncode = run_onnx2tf_child(request_path, log_path, timeout_s)
    if returncode is None:
        raise ConversionError(f"onnx2tf did not finish within {timeout_s} s")
    if returncode != 0:
        raise ConversionError(f"onnx2tf failed: {summarize_log(log_path, returncode=returncode)}")
    missing = [p.name for p in (out / "saved_model.pb", result.tflite_float32, result.tflite_float16)
               if not p.exists()]
    if missing:
        raise ConversionError(f"onnx2tf finished without writing {', '.join(missing)}: {summarize_log(log_path)}")
    cache.store("onnx2tf", key, sorted(out.iterdir()))
    return result


def _request_identity(request: Onnx2TfRequest) -> dict:
    """What the output depends on: the request with its files replaced by their content's digest."""
    identity = asdict(request)
    del identity["output_dir"]
    identity["onnx_path"] = [Path(request.onnx_path).name, onnx_digest(Path(request.onnx_path))]
    identity["calibration"] = {name: file_digest(Path(path)) for name, path in request.calibration.items()}
    identity["samples"] = SAMPLES_RULE  # made from the seed and shapes above, by a rule that can change
    return identity


@contextlib.contextmanager
def _alongside(work: Callable[[], object] | None):
    """Run ``work`` in a thread during the block; wait for it on the way out, even on an interrupt (the
    thread may hold file descriptor 2 while it imports TensorFlow: the error line must come after)."""
    def quietly() -> None:
        with contextlib.suppress(Exception):  # the caller meets the same failure when it does this itself
            work()

    thread = threading.Thread(target=quietly, name="onnx2tf-meanwhile", daemon=True) if work else None
    if thread:
        thread.start()
    try:
        yield
    finally:
        interrupted = None
        while thread and thread.is_alive():
            try:
                thread.join()
            except BaseException as exc:  # noqa: BLE001 (re-raised once the thread is done)
                interrupted = exc
        if interrupted is not None:
            raise interrupted


def _onnx2tf_kwargs(request: Onnx2TfRequest) -> dict:
    """Every onnx2tf.convert parameter, explicitly: no default of theirs decides for us (and the samples
    it checks its choices on, written beside the output: onnx2tf_samples)."""
    overwrite = None
    if request.static_batch is not None:
        fixed = {name: [request.static_batch if i == 0 and d is None else d for i, d in enumerate(shape)]
                 for name, shape in request.input_shapes.items()}
        if all(d is not None for shape in fixed.values() for d in shape):  # else the graph's inputs are fixed already
            overwrite = [f"{name}:{','.join(map(str, shape))}" for name, shape in fixed.items()]
    return dict(
        input_onnx_file_path=request.onnx_path, onnx_graph=None, output_folder_path=request.output_dir,
        output_signaturedefs=True, output_h5=False, output_keras_v3=False, output_tfv1_pb=False,
        output_weights=False, copy_onnx_input_output_names_to_tflite=True,
        output_dynamic_range_quantized_tflite=request.quantize == "dynamic",
        output_integer_quantized_tflite=request.quantize == "int8",
        quant_norm_mean="[[[[0.485, 0.456, 0.406]]]]", quant_norm_std="[[[[0.229, 0.224, 0.225]]]]",
        quant_type="per-channel",
        # Our calibration data is already normalized model input: mean 0, std 1. Without: samples to check on.
        custom_input_op_name_np_data_path=[[n, p, 0.0, 1.0] for n, p in request.calibration.items()] or
        validation_inputs(request.onnx_path, request.input_shapes, request.static_batch, request.seed,
                          Path(request.output_dir).parent / "validation-inputs"),
        input_quant_dtype="int8",
        output_quant_dtype="int8", not_use_onnxsim=not request.use_onnxsim,
        not_use_opname_auto_generate=False, batch_size=None, overwrite_input_shape=overwrite,
        shape_hints=[f"{n}:{','.join(map(str, s))}" for n, s in request.shape_hints.items()] or None,
        no_large_tensor=False, output_nms_with_dynamic_tensor=False,
        switch_nms_version="v4", keep_ncw_or_nchw_or_ncdhw_input_names=None,
        keep_nwc_or_nhwc_or_ndhwc_input_names=None,
        keep_shape_absolutely_input_names=request.keep_shape_input_names or None,
        input_names_to_interrupt_model_conversion=None,
        output_names_to_interrupt_model_conversion=request.interrupt_at or None,
        disable_group_convolution=False, enable_accumulation_type_float16=False,
        enable_batchmatmul_unfold=False, enable_rnn_unroll=request.unroll_rnn, disable_suppression_flextranspose=False,
        disable_strict_mode=request.disable_strict_mode,
        number_of_dimensions_after_flextranspose_compression=6,
        disable_suppression_flexstridedslice=False,
        number_of_dimensions_after_flexstridedslice_compression=5, optimization_for_gpu_delegate=False,
        replace_argmax_to_reducemax_and_indices_is_int64=False,
        replace_argmax_to_reducemax_and_indices_is_float32=False,
        replace_argmax_to_fused_argmax_and_indices_is_int64=False,
        replace_argmax_to_fused_argmax_and_indices_is_float32=False, fused_argmax_scale_ratio=0.5,
        replace_to_pseudo_operators=None, param_replacement_file="", auto_generate_json=False,
        auto_generate_json_on_error=False, check_gpu_delegate_compatibility=False,
        check_onnx_tf_outputs_elementwise_close=False, check_onnx_tf_outputs_elementwise_close_full=False,
        check_onnx_tf_outputs_sample_data_normalization="norm",
        check_onnx_tf_outputs_elementwise_close_rtol=0.0, check_onnx_tf_outputs_elementwise_close_atol=1e-4,
        mvn_epsilon=1e-10, disable_model_save=False, non_verbose=False, verbosity="warn",
    )


def nodes_converted(log_path: Path) -> str:
    """"onnx2tf: 143/321 nodes", from the last TORCH2TF-NODES line the child wrote; "" before the first."""
    with open(log_path, "rb") as log:
        log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
        found = NODES_LINE.findall(log.read().decode(errors="replace"))
    return f"onnx2tf: {found[-1][0]}/{found[-1][1]} nodes" if found else ""


def _report_node_progress() -> None:
    """onnx2tf counts the nodes it converts only in its debug log: its node decorator sees debug on, and of
    its debug lines the `k / n` counter alone is kept, as a TORCH2TF-NODES line (every other one dropped)."""
    import onnx2tf.utils.common_functions as common
    from onnx2tf.utils.logging import LOG_LEVELS

    def counter_only(*args, **kwargs) -> None:
        match = COUNTER.match(ANSI.sub("", " ".join(map(str, args))))
        if match:
            print(f"TORCH2TF-NODES {match[1]}/{match[2]}", flush=True)

    common.get_log_level = lambda: LOG_LEVELS["debug"]
    common.debug = counter_only


def _child_main(request_path: str) -> int:
    """Entry point of the child process. Prints one TORCH2TF-FAILURE line per failed conversion."""
    import numpy as np

    payload = json.loads(Path(request_path).read_text())
    batch = isinstance(payload, list)
    requests = [Onnx2TfRequest(**r) for r in (payload if batch else [payload])]
    _forbid_network()
    import onnx2tf
    import onnx2tf.onnx2tf as onnx2tf_main

    _report_node_progress()

    failures = 0
    for index, request in enumerate(requests):
        # onnx2tf fetches MS-COCO sample images for 4D image inputs (shape estimation, calibration);
        # hand it our own seeded images instead so no run touches the network.
        samples = np.random.default_rng(request.seed).random(_SAMPLE_SHAPE, dtype=np.float32)
        onnx2tf_main.download_test_image_data = lambda: samples.copy()
        print(f"TORCH2TF-JOB-START {index}", flush=True)
        try:
            onnx2tf.convert(**_onnx2tf_kwargs(request))
        except SystemExit as exc:
            print(f"TORCH2TF-FAILURE: onnx2tf stopped (sys.exit({exc.code})) — see its ERROR lines above", flush=True)
            failures += 1
            continue
        except BaseException as exc:  # the child must report every failure as one line
            text = " ".join(str(exc).split())[:400]
            print(f"TORCH2TF-FAILURE: {type(exc).__name__}: {text}", flush=True)
            failures += 1
            continue
        print(f"TORCH2TF-JOB-OK {index}", flush=True)
    return 1 if failures and not batch else 0


def _forbid_network() -> None:
    import socket

    def refuse(*args, **kwargs):
        raise OSError("torch2tf runs onnx2tf offline: network access refused")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]


def copy_onnx(src: Path, dest_dir: Path) -> Path:
    """Copy model.onnx and its external data side by side (onnxsim rewrites the file in place)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    for path in (src, src.with_name(src.name + ".data")):
        if path.exists():
            shutil.copy2(path, dest_dir / path.name)
    return dest_dir / src.name


def _await_request(start_log: str) -> str | None:
    """A child started ahead (children.ChildAhead): import, then read ``REQUEST<TAB>LOG`` from
    stdin; from then on the request's log is stdout and stderr, starting with what the imports printed."""
    yield_to_parent()
    _forbid_network()
    import numpy  # noqa: F401  (the point of starting ahead: these imports happen before the request)
    import onnx2tf  # noqa: F401

    line = sys.stdin.readline().strip()
    if not line:  # stdin closed: the parent did not need this child
        return None
    request_path, log_path = line.split("\t")
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(log, Path(start_log).read_bytes())
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    print(f"TORCH2TF-STARTED-AHEAD {os.getpid()}", flush=True)
    os.chdir(Path(request_path).parent)  # onnx2tf looks for its sample file in the working directory
    return request_path


def _main(argv: list[str]) -> None:
    request_path = _await_request(argv[2]) if argv[1] == WAIT_FLAG else argv[1]
    exit_past_teardown(_child_main(request_path) if request_path else 0)


if __name__ == "__main__":
    _main(sys.argv)
