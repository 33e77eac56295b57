"""Models whose dynamo export holds an ``as_strided`` view (a gather from the flattened tensor)."""
from __future__ import annotations

import torch
from torch import nn


class PooledView(nn.Module):
    """A classifier head as timm's PoolFormer and EdgeNeXt export: the pooled [N, C, 1, 1] map taken as a
    channels-last view (``as_strided``) before a channel LayerNorm. ``transposed``: a view that reads
    the elements out of order instead (a [N, 4, 2] view of [N, 2, 4]), which is not a reshape."""

    def __init__(self, transposed: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.transposed = transposed
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.conv(x).mean((2, 3), keepdim=True)
        channels = pooled.shape[1]
        if self.transposed:
            return pooled.as_strided((pooled.shape[0], 4, 2), (channels, 1, 4)).flatten(1)
        view = pooled.as_strided(pooled.shape, (channels, 1, channels, channels))
        return self.fc(self.norm(view.permute(0, 2, 3, 1)).flatten(1))


def pooled_view() -> nn.Module:
    return PooledView().eval()
