"""A MobileNetV3-style net: depthwise separable convs, hardswish, squeeze-excite, inverted residuals."""
from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        scale = nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(scale))))
        return x * scale


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, expand: int, cout: int, stride: int, se: bool) -> None:
        super().__init__()
        self.use_residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.Hardswish(),
            nn.Conv2d(expand, expand, 3, stride, 1, groups=expand, bias=False),  # depthwise
            nn.BatchNorm2d(expand), nn.Hardswish(),
            SqueezeExcite(expand) if se else nn.Identity(),
            nn.Conv2d(expand, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class MobileNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.blocks = nn.Sequential(
            InvertedResidual(16, 32, 16, 1, se=True),
            InvertedResidual(16, 48, 24, 2, se=False),
            InvertedResidual(24, 72, 24, 1, se=True),
            InvertedResidual(24, 96, 40, 2, se=True),
        )
        self.head = nn.Sequential(nn.Conv2d(40, 128, 1), nn.Hardswish())
        self.classifier = nn.Linear(128, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(image)))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build() -> nn.Module:
    """Seeded random weights with BatchNorm statistics measured on images, as training leaves them: with
    the initial statistics (mean 0, variance 1) every logit came out the classifier's bias to within 3e-5,
    whatever the image, and parity on such an output proves nothing."""
    torch.manual_seed(0)
    model = MobileNet()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(4):  # random pixels in [0, 1) normalized with ImageNet's statistics
            model((torch.rand(8, 3, 96, 96) - 0.45) / 0.226)
    return model.eval()
