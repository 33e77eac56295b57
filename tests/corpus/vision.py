"""The vision corpus: timm and torchvision architectures as researchers hold them.

Each builder returns the library's own module (``timm.create_model``, torchvision's model builders) with
seeded random weights — no download — made informative: no zero heads, BatchNorm statistics recalibrated
on seeded random images (tests/corpus/weights.py). Sizes are the smallest each family takes. Models
timm deploys reparameterized (RepViT, FastViT, MobileOne) are built in that form, as
``timm.utils.reparameterize_model`` leaves them.

PyPI's torchvision wheel is a CUDA build: beside the CPU torch its C ops do not load and its import
fails registering fake kernels for ``torchvision::nms``. The pure-Python models need neither, so that
registration module is skipped (``_import_torchvision``); nothing here calls a torchvision C op.
``make venv`` installs both libraries in ``.venv/vision-site``, outside the environment, because
transformers imports torchvision whenever it is installed; that directory joins sys.path here only.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from tests.corpus.weights import informative, pixels, recalibrate_batch_norm

NUM_CLASSES = 10


VISION_SITE = Path(sys.prefix) / "vision-site"


def _import_torchvision():
    if VISION_SITE.is_dir() and str(VISION_SITE) not in sys.path:
        sys.path.append(str(VISION_SITE))
    name = "torchvision._meta_registrations"
    if "torchvision" not in sys.modules:
        sys.modules.setdefault(name, types.ModuleType(name))
    import torchvision

    return torchvision


def _timm(name: str, size: int, reparameterize: bool = False, **kwargs) -> nn.Module:
    _import_torchvision()  # timm imports torchvision
    import timm

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=NUM_CLASSES, **kwargs)
    model = _calibrated(model, (3, size, size))
    if reparameterize:
        from timm.utils.model import reparameterize_model

        model = reparameterize_model(model)
    return model.eval()


def _torchvision(build: Callable[[], nn.Module], shape: tuple[int, ...]) -> nn.Module:
    _import_torchvision()
    torch.manual_seed(0)
    return _calibrated(build(), shape).eval()


def _calibrated(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    informative(model)
    recalibrate_batch_norm(model, model, shape, draw=pixels if len(shape) == 3 else torch.randn)
    return model


def _tv(module: str):
    """torchvision.models or one of its subpackages (segmentation, video, detection.backbone_utils)."""
    import importlib

    return importlib.import_module(f"{_import_torchvision().__name__}.models{'.' + module if module else ''}")


def resnet18():
    return _timm("resnet18", size=64)


def resnet50d():
    return _timm("resnet50d", size=64)


def seresnext26d_32x4d():
    return _timm("seresnext26d_32x4d", size=64)


def res2net50_26w_4s():
    return _timm("res2net50_26w_4s", size=64)


def resnest14d():
    return _timm("resnest14d", size=64)


def efficientnet_b0():
    return _timm("efficientnet_b0", size=64)


def tf_efficientnet_lite0():
    return _timm("tf_efficientnet_lite0", size=64)


def mobilenetv2_050():
    return _timm("mobilenetv2_050", size=64)


def mobilenetv3_small_050():
    return _timm("mobilenetv3_small_050", size=64)


def mobilenetv3_large_100():
    return _timm("mobilenetv3_large_100", size=64)


def mobilenetv4_conv_small():
    return _timm("mobilenetv4_conv_small", size=64)


def ghostnet_100():
    return _timm("ghostnet_100", size=64)


def regnety_002():
    return _timm("regnety_002", size=64)


def rexnet_100():
    return _timm("rexnet_100", size=64)


def densenet121():
    return _timm("densenet121", size=64)


def dla34():
    return _timm("dla34", size=64)


def dpn48b():
    return _timm("dpn48b", size=64)


def hrnet_w18_small():
    return _timm("hrnet_w18_small", size=64)


def cs3darknet_s():
    return _timm("cs3darknet_s", size=64)


def nf_regnet_b0():
    return _timm("nf_regnet_b0", size=64)


def convnext_atto():
    return _timm("convnext_atto", size=64)


def convnextv2_atto():
    return _timm("convnextv2_atto", size=64)


def repvit_m0_9():
    return _timm("repvit_m0_9", size=64, reparameterize=True)


def fastvit_t8():
    return _timm("fastvit_t8", size=64, reparameterize=True)


def mobileone_s0():
    return _timm("mobileone_s0", size=64, reparameterize=True)


def vit_tiny_patch16_224():
    return _timm("vit_tiny_patch16_224", img_size=64, size=64)


def deit_tiny_distilled_patch16_224():
    return _timm("deit_tiny_distilled_patch16_224", img_size=64, size=64)


def eva02_tiny_patch14_224():
    return _timm("eva02_tiny_patch14_224", img_size=56, size=56)


def swin_tiny_patch4_window7_224():
    return _timm("swin_tiny_patch4_window7_224", img_size=64, window_size=4, size=64)


def maxvit_nano_rw_256():
    return _timm("maxvit_nano_rw_256", img_size=64, size=64)


def coatnet_nano_rw_224():
    return _timm("coatnet_nano_rw_224", img_size=64, size=64)


def efficientformer_l1():
    return _timm("efficientformer_l1", size=224)


def efficientformerv2_s0():
    return _timm("efficientformerv2_s0", img_size=64, size=64)


def levit_128s():
    return _timm("levit_128s", img_size=64, size=64)


def mobilevit_xxs():
    return _timm("mobilevit_xxs", size=64)


def mobilevitv2_050():
    return _timm("mobilevitv2_050", size=64)


def edgenext_xx_small():
    return _timm("edgenext_xx_small", size=64)


def poolformerv2_s12():
    return _timm("poolformerv2_s12", size=64)


def caformer_s18():
    return _timm("caformer_s18", size=64)


def pvt_v2_b0():
    return _timm("pvt_v2_b0", size=64)


def gcvit_xxtiny():
    return _timm("gcvit_xxtiny", img_size=64, size=64)


def mixer_s16_224():
    return _timm("mixer_s16_224", img_size=64, size=64)


def efficientvit_b0():
    return _timm("efficientvit_b0", size=64)


def efficientvit_m0():
    return _timm("efficientvit_m0", img_size=64, size=64)


def crossvit_tiny_240():
    return _timm("crossvit_tiny_240", img_size=120, size=120)


def tiny_vit_5m_224():
    return _timm("tiny_vit_5m_224", size=64)


def deeplabv3_mobilenet_v3_large():
    return _torchvision(lambda: _tv('segmentation').deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=4), (3, 64, 64))


def lraspp_mobilenet_v3_large():
    return _torchvision(lambda: _tv('segmentation').lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=4), (3, 64, 64))


def shufflenet_v2_x0_5():
    return _torchvision(lambda: _tv('').shufflenet_v2_x0_5(num_classes=10), (3, 64, 64))


def squeezenet1_1():
    return _torchvision(lambda: _tv('').squeezenet1_1(num_classes=10), (3, 64, 64))


def mnasnet0_5():
    return _torchvision(lambda: _tv('').mnasnet0_5(num_classes=10), (3, 64, 64))


def googlenet():
    return _torchvision(lambda: _tv('').googlenet(num_classes=10, aux_logits=False, init_weights=True), (3, 64, 64))


def r3d_18():
    return _torchvision(lambda: _tv('video').r3d_18(num_classes=10), (3, 4, 32, 32))


def resnet18_fpn_backbone():
    return _torchvision(lambda: _tv('detection.backbone_utils').resnet_fpn_backbone(backbone_name='resnet18', weights=None, trainable_layers=5), (3, 64, 64))
