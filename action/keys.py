"""Cache keys for the action: the pip cache (per OS, Python and pinned stack) and the baseline report
(per model and inputs, so two models in one repository never share a baseline)."""
from __future__ import annotations

import hashlib
import os
import platform
import re
from pathlib import Path


def keys(action_path: Path, model: str, inputs: str, runner_os: str) -> dict[str, str]:
    stack = hashlib.sha256((action_path / "torch2tf" / "data" / "constraints.txt").read_bytes()).hexdigest()[:16]
    subject = hashlib.sha256(f"{model}\n{' '.join(inputs.split())}".encode()).hexdigest()[:16]
    python = ".".join(platform.python_version_tuple()[:2])
    return {"pip": f"torch2tf-pip-{runner_os}-py{python}-{stack}", "report": f"torch2tf-report-{subject}",
            "artifact": re.sub(r"[^A-Za-z0-9_.-]+", "-", model).strip("-.")[:60] or "model"}


def main() -> None:
    found = keys(Path(os.environ["GITHUB_ACTION_PATH"]), os.environ["T2T_MODEL"], os.environ.get("T2T_INPUTS", ""),
                 os.environ.get("RUNNER_OS", platform.system()))
    with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
        fh.writelines(f"{name}={value}\n" for name, value in found.items())


if __name__ == "__main__":
    main()
