"""Quantized TFLite variants: dynamic-range int8 and full-integer int8 with calibration data.

Quantization runs as its own onnx2tf conversion of the graph that produced the float artifacts
(same strategy, same rewrites), so a failing int8 conversion never costs the float artifacts.
Calibration data is model input (PyTorch layout, already normalized): from an .npz, from a folder
of images (resized, scaled to [0, 1], normalized with --mean/--std), or random with --calibration
random (and a warning in the report).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from torch2tf.cache import Cache
from torch2tf.conversion.onnx_to_tf import copy_onnx, run_onnx2tf
from torch2tf.conversion.rewrites import apply_rewrites, int8_rewrites
from torch2tf.conversion.strategies import RequestExtras, Strategy, onnx2tf_request
from torch2tf.errors import ConversionError, InputSpecError, UsageError
from torch2tf.inputs import check_arrays_match, load_npz, make_inputs
from torch2tf.native_logs import import_tensorflow
from torch2tf.specs import TensorSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
RANDOM_CALIBRATION_SAMPLES = 32
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# target name → (onnx2tf file suffix, file name in the output's tflite/)
VARIANTS = {
    "dynamic": [("tflite_dynamic_range_quant", "dynamic_range_quant")],
    "int8": [("tflite_integer_quant", "integer_quant")],
    "int8-io": [("tflite_full_integer_quant", "full_integer_quant")],
}


@dataclass
class QuantizeOptions:
    modes: list[str]  # "dynamic" and/or "int8"
    calibration: str | None = None  # .npz path, image folder, or "random"
    int8_io: bool = False
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    strict: bool = False  # a quantized variant below the int8 preset fails the run (exit 3)


@dataclass
class Calibration:
    arrays: dict[str, np.ndarray]  # named like the inputs, PyTorch layout, already normalized
    notes: list[str] = field(default_factory=list)


def load_calibration(options: QuantizeOptions, specs: list[TensorSpec], seed: int) -> Calibration:
    """Calibration data for full-integer int8; raises on bad data."""
    source = options.calibration
    if source is None:
        raise UsageError("--quantize int8 needs --calibration DATA.npz, an image folder, or 'random'")
    if source == "random":
        note = "int8 calibrated on RANDOM data (--calibration random): expect poor accuracy on real inputs"
        return Calibration(make_inputs(specs, RANDOM_CALIBRATION_SAMPLES, seed + 1000), [note])
    path = Path(source)
    if path.is_dir():
        return Calibration(_images(path, specs, options))
    if path.suffix == ".npz" and path.is_file():
        arrays = load_npz(path)
        try:
            check_arrays_match(specs, arrays)
        except InputSpecError as exc:
            raise InputSpecError(f"calibration data {path}: {exc.message}") from exc
        if any(a.shape[0] < 1 for a in arrays.values()):
            raise InputSpecError(f"calibration data {path} has no samples")
        return Calibration(arrays)
    raise UsageError(f"--calibration {source}: not an .npz file, an image folder, or 'random'")


def _images(folder: Path, specs: list[TensorSpec], options: QuantizeOptions) -> dict[str, np.ndarray]:
    image_specs = [s for s in specs if len(s.shape) == 4 and s.dtype == "float32" and s.shape[1] in (1, 3)]
    if len(specs) != 1 or not image_specs:
        raise UsageError("an image folder calibrates a model with one (N, 1|3, H, W) float32 input; "
                         "use an .npz for other models")
    spec = image_specs[0]
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    tf = import_tensorflow()
    channels, height, width = spec.shape[1:]
    mean = np.array(options.mean[:channels], np.float32).reshape(channels, 1, 1)
    std = np.array(options.std[:channels], np.float32).reshape(channels, 1, 1)
    images = []
    for file in files:
        try:
            decoded = tf.io.decode_image(file.read_bytes(), channels=channels, expand_animations=False)
        except (tf.errors.InvalidArgumentError, ValueError) as exc:
            raise InputSpecError(f"cannot read image {file}: {str(exc).splitlines()[0]}") from exc
        resized = tf.image.resize(tf.cast(decoded, tf.float32) / 255.0, (height, width)).numpy()
        images.append((resized.transpose(2, 0, 1) - mean) / std)
    return {spec.name: np.stack(images).astype(np.float32)}


def quantize(onnx2tf_input: Path, work_dir: Path, mode: str, options: QuantizeOptions, strategy: Strategy,
             specs: list[TensorSpec], input_perms: dict[str, list[int] | None],
             calibration: dict[str, np.ndarray] | None, seed: int, cache: Cache | None = None) -> dict[str, Path]:
    """Run the quantizing onnx2tf conversion (once per graph, calibration and versions with a ``cache``);
    return {target: .tflite path}. Raises ConversionError."""
    directory = work_dir / f"quantize-{mode}"
    source = copy_onnx(onnx2tf_input, directory / "onnx")
    calibration_files = {}
    if mode == "int8":
        apply_rewrites(source, int8_rewrites(strategy.keep_input_layout))
        for name, array in (calibration or {}).items():
            perm = input_perms.get(name)  # onnx2tf calibrates its own (channel-last) inputs
            path = directory / f"calibration-{name}.npy"
            np.save(path, np.ascontiguousarray(np.transpose(array, perm) if perm else array).astype(np.float32))
            calibration_files[name] = str(path)
    extras = RequestExtras(quantize=mode, calibration=calibration_files)
    run_onnx2tf(onnx2tf_request(strategy, source, directory / "raw", specs, seed, extras), directory, cache=cache)
    key = "int8-io" if mode == "int8" and options.int8_io else mode
    produced = {}
    for target, suffix in VARIANTS[key]:
        path = directory / "raw" / f"model_{suffix}.tflite"
        if not path.exists():
            raise ConversionError(f"onnx2tf did not write the {suffix} TFLite file (see its log in --work-dir)")
        produced[target] = path
    return produced
