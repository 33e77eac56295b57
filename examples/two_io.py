"""A model with two inputs (an image and a feature vector) and two outputs (class scores and a
regression), like a multi-task head fusing two modalities."""
from __future__ import annotations

import torch
from torch import nn


class TwoInTwoOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.vision = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.meta = nn.Sequential(nn.Linear(12, 16), nn.ReLU())
        self.classes = nn.Linear(32, 5)
        self.score = nn.Linear(32, 1)

    def forward(self, image: torch.Tensor, features: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.vision(image).mean(dim=(2, 3))
        fused = torch.cat([v, self.meta(features)], dim=1)
        return {"class_logits": self.classes(fused), "score": torch.sigmoid(self.score(fused))}


def build() -> nn.Module:
    torch.manual_seed(0)
    return TwoInTwoOut().eval()
