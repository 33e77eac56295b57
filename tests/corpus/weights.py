"""Weights as a trained model has them, for corpora built with random seeded weights.

Two things make a random model's outputs uninformative (every output the same constant, so parity on it
proves nothing): heads initialized to zero, and BatchNorm statistics left at their initial values, under
which a deep CNN's activations shrink layer by layer to ~1e-26. Both are undone here, seeded.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

CALIBRATION_BATCHES = 4
CALIBRATION_ROWS = 8


def informative(model: nn.Module) -> nn.Module:
    """A weight matrix or kernel whose values are all equal (a zero-initialized head) is drawn again,
    seeded, at the scale of its fan-in."""
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor) and weight.ndim >= 2 and weight.numel() > 1 \
                    and bool((weight == weight.flatten()[0]).all()):
                fan_in = weight[0].numel()
                weight.normal_(0.0, fan_in ** -0.5)
    return model


def pixels(*shape: int) -> torch.Tensor:
    """Random pixels in [0, 1) normalized with ImageNet statistics: what torch2tf's image samples are, and
    what a preprocessed photo looks like to the model (not zero-mean: a net calibrated on standard normal
    noise and fed these drifts, in a deep random EfficientNet to outputs near 3e3)."""
    return (torch.rand(*shape) - 0.45) / 0.226


def recalibrate_batch_norm(model: nn.Module, feed: Callable[[torch.Tensor], object], shape: tuple[int, ...],
                           draw: Callable[..., torch.Tensor] = torch.randn) -> None:
    """BatchNorm statistics measured on seeded random inputs of `shape` (no batch axis) drawn by `draw`, as
    training leaves them: `feed(batch)` runs the model in train mode, the statistics a cumulative average
    over the batches."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_parameters()  # statistics, and the scale 1 / shift 0 some configs draw at std 0.02
        norm.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():  # the global generator, seeded by the builder before it built the model
        for _ in range(CALIBRATION_BATCHES):
            feed(draw(CALIBRATION_ROWS, *shape))
    model.eval()
