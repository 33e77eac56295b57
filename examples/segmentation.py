"""A small U-Net-style segmentation encoder-decoder: GroupNorm, a transposed convolution,
bilinear upsampling and skip concatenations. Returns per-pixel class scores in NCHW."""
from __future__ import annotations

import torch
from torch import nn


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.ReLU())


class SegNet(nn.Module):
    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.enc1 = conv_block(3, 16)
        self.enc2 = conv_block(16, 32)
        self.bottleneck = conv_block(32, 64)
        self.up2 = nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2)
        self.dec2 = conv_block(64, 32)
        self.dec1 = conv_block(48, 16)
        self.head = nn.Conv2d(16, num_classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(image)                                  # H
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))        # H/2
        b = self.bottleneck(nn.functional.max_pool2d(e2, 2))   # H/4
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))    # transposed conv back to H/2
        up = nn.functional.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up, e1], dim=1))             # bilinear back to H
        return self.head(d1)


def build() -> nn.Module:
    torch.manual_seed(0)
    return SegNet().eval()
