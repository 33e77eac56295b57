"""Seeded validation inputs that respect each input's dtype and meaning."""
from __future__ import annotations

import numpy as np

from torch2tf.model_spec import InputSpec

DEFAULT_VOCAB = 100
VALIDATION_BATCHES = (1, 3)


def make_inputs(specs: list[InputSpec], batch: int, seed: int,
                vocab_sizes: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Random inputs for one batch size.

    Integer inputs named like a mask get ones with a zeroed tail (a padded sequence); other integer
    inputs are token ids below the embedding size read from the model (``vocab_sizes``), so
    embeddings never index out of range. Image-like floats (N, 1|3|4, H, W) are pixels in [0, 1)
    normalized with ImageNet statistics, like a preprocessed photo; other floats are standard normal.
    """
    rng = np.random.default_rng(seed)
    vocab_sizes = vocab_sizes or {}
    feeds = {}
    for spec in specs:
        shape = spec.concrete_shape(batch)
        if spec.dtype == "bool":
            feeds[spec.name] = rng.random(shape) < 0.5
        elif spec.dtype in ("int64", "int32"):
            if "mask" in spec.name.lower():
                feeds[spec.name] = _padding_mask(shape, rng).astype(spec.dtype)
            else:
                high = vocab_sizes.get(spec.name, DEFAULT_VOCAB)
                feeds[spec.name] = rng.integers(0, high, size=shape).astype(spec.dtype)
        elif len(shape) == 4 and shape[1] in (1, 3, 4):
            feeds[spec.name] = ((rng.random(shape) - 0.45) / 0.226).astype(spec.dtype)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
    return feeds


def _padding_mask(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    mask = np.ones(shape, dtype=np.int64)
    if len(shape) >= 2 and shape[-1] > 1:
        for row in range(shape[0]):
            keep = int(rng.integers(max(1, shape[-1] // 2), shape[-1] + 1))
            mask[row, ..., keep:] = 0
    return mask


def slice_batch(arrays: dict[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    """The first ``batch`` rows of user data (all rows when it has fewer)."""
    return {name: array[:batch] for name, array in arrays.items()}
