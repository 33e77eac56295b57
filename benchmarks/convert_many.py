#!/usr/bin/env python
"""convert-many's engines side by side: one model after another, a local pool, a local Ray instance.

Converts the same manifest (three tiny models, one failing on purpose, as in the tests) three ways
in one run and prints each wall time, its ratio to the one-after-another run, and whether every
engine gave the same verdicts. Numbers for people; nothing is asserted.

    .venv/bin/python benchmarks/convert_many.py [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TINY_MODELS  # noqa: E402
from tests.fanout.test_convert_many import MANIFEST  # noqa: E402


def run(project: Path, out: Path, args: list[str]) -> tuple[float, dict[str, str]]:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "torch2tf", "convert-many", "models.toml", "-o", str(out), "-q", *args],
                   cwd=project, check=False)
    seconds = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    return seconds, {m["name"]: m["verdict"] for m in summary["models"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    jobs = parser.parse_args().jobs
    with tempfile.TemporaryDirectory(prefix="t2t-many-") as root:
        project = Path(root) / "project"
        project.mkdir()
        (project / "tiny_models.py").write_text(TINY_MODELS)
        (project / "models.toml").write_text(MANIFEST)
        engines = {"one after another (--jobs 1)": ["--jobs", "1"], f"local pool (--jobs {jobs})": ["--jobs", str(jobs)],
                   f"Ray, local instance (--jobs {jobs} --ray)": ["--jobs", str(jobs), "--ray"]}
        results = {name: run(project, Path(root) / f"out{i}", args) for i, (name, args) in enumerate(engines.items())}
    baseline = next(iter(results.values()))[0]
    print(f"{'engine':42} {'wall':>8} {'ratio':>6}  verdicts")
    for name, (seconds, verdicts) in results.items():
        print(f"{name:42} {seconds:7.1f}s {seconds / baseline:6.2f}  {verdicts}")
    same = len({json.dumps(v, sort_keys=True) for _, v in results.values()}) == 1
    print(f"same verdicts on every engine: {same}")


if __name__ == "__main__":
    main()
