"""A model whose code warns, as library code does (torch's nested-tensor notice): the warning belongs in the
report, not between the progress lines."""
from __future__ import annotations

import warnings

import torch
from torch import nn


class Warns(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        warnings.warn("this layer's fast path is off: batch_first was not True", UserWarning)
        return self.linear(x)


def build() -> nn.Module:
    torch.manual_seed(0)
    return Warns().eval()
