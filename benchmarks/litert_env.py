"""Google's direct PyTorch→TFLite converter, litert-torch, in a venv of its own (never a dependency of
torch2tf): the speed and coverage anchor the benchmarks measure torch2tf against.

`ensure_litert_venv()` builds .venv-litert on first use: the CPU torch this machine pins first, then
litert-torch with a constraints file holding torch at that pin (pip would otherwise resolve a newer,
multi-GB CUDA build), then the corpus libraries without their dependencies.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-litert"
LITERT_TORCH = "litert-torch==0.10.0"


def pins(*names: str) -> list[str]:
    """Those packages' lines of constraints.txt (the verified stack)."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    found = [line for line in lines if line.split("==")[0].lower() in names]
    if len(found) != len(names):
        raise SystemExit(f"constraints.txt pins {found}, expected {names}")
    return found


def ensure_litert_venv() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text().strip() == LITERT_TORCH:
        return python
    print(f"building {VENV.name} for {LITERT_TORCH} (once, a few minutes)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    torch, = pins("torch")
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write(torch + "\n")
    subprocess.run([*pip, torch], check=True)
    subprocess.run([*pip, "-c", constraints.name, LITERT_TORCH], check=True)
    subprocess.run([*pip, "--no-deps", *pins("timm", "torchvision")], check=True)
    Path(constraints.name).unlink()
    stamp.write_text(LITERT_TORCH + "\n")
    return python
