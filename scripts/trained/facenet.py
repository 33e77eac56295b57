"""facenet-pytorch's MTCNN face detector stages (PNet, RNet, ONet) with the trained weights its wheel ships
(facenet_pytorch/data/*.pt), imported from the wheel scripts/trained_models.py fetched (TORCH2TF_TRAINED_DIR)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.corpus.vision import _import_torchvision


def _mtcnn():
    root = Path(os.environ.get("TORCH2TF_TRAINED_DIR", "")) / "facenet-pytorch"
    if not (root / "facenet_pytorch").is_dir():
        raise RuntimeError(f"facenet-pytorch is not fetched under {root}: run scripts/trained_models.py")
    sys.path.insert(0, str(root))
    _import_torchvision()  # facenet_pytorch imports torchvision's box ops (never called by these stages)
    from facenet_pytorch.models import mtcnn

    return mtcnn


def pnet():
    return _mtcnn().PNet().eval()


def rnet():
    return _mtcnn().RNet().eval()


def onet():
    return _mtcnn().ONet().eval()
