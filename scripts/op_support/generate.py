#!/usr/bin/env python
"""Regenerate torch2tf/data/op_support.json by converting one-node models of every ONNX op case.

Re-run it whenever a pinned version (onnx2tf, tensorflow, onnx, onnxruntime) changes, and review
the diff in git:  .venv/bin/python scripts/op_support/generate.py [--ops Conv,Erf] [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.op_support.cases import OPSET, case_variants  # noqa: E402
from scripts.op_support.measure import measure_ops  # noqa: E402
from torch2tf.conversion.op_support import TABLE_FILE  # noqa: E402
from torch2tf.validation.report import tool_versions  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", help="comma-separated subset (merged into the existing table)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel onnx2tf children")
    parser.add_argument("--output", type=Path, default=ROOT / "torch2tf" / "data" / TABLE_FILE)
    args = parser.parse_args()
    variants = case_variants()
    ops = args.ops.split(",") if args.ops else list(variants)
    unknown = [o for o in ops if o not in variants]
    if unknown:
        parser.error(f"no case for {', '.join(unknown)}")
    start = time.perf_counter()
    # All cases of one op go to the same worker, so it can keep the best.
    chunks = [[c for op in ops[i::args.jobs] for c in variants[op]] for i in range(args.jobs)]
    results: dict[str, dict] = {}
    with ThreadPoolExecutor(args.jobs) as pool:  # threads only wait: each runs onnx2tf in child processes
        for part in pool.map(measure_ops, chunks):
            results.update(part)
    table = {"ops": {}}
    if args.ops and args.output.exists():
        table = json.loads(args.output.read_text())
    table["generated_with"] = {**tool_versions(), "default_opset": OPSET}
    table["ops"].update(results)
    table["ops"] = dict(sorted(table["ops"].items()))
    args.output.write_text(json.dumps(table, indent=1) + "\n")
    counts = {}
    for entry in table["ops"].values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    print(f"{len(results)} ops measured in {time.perf_counter() - start:.0f}s; table has {len(table['ops'])}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
