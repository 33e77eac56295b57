#!/usr/bin/env python
"""Which corpus models keep a dynamic sequence axis: `make dynamic-axes` → reports/dynamic_axes.md.

Every model of tests/corpus/corpus.toml whose inputs are sequences (rank 2: token ids, masks, waveforms)
is converted with its length axis named, ``Nx{seq=L/2..L}`` where the corpus gives ``NxL``, so parity is
checked at both lengths. The table says which strategy held parity and where ``{seq}`` stayed dynamic:
the SavedModel signature (None) and the .tflite files (shape_signature -1; always both, or the axis was
fixed and the report says why).

    .venv/bin/python scripts/dynamic_axes.py [--jobs 2] [--only NAME,NAME] [--min-kept 0.66]
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.coverage import CORPORA, convert  # noqa: E402
from torch2tf.records import Report  # noqa: E402

SEQUENCE = re.compile(r"^([^:]+):Nx(\d+)(:\w+)?$")


def sequence_entry(entry: dict) -> dict | None:
    """The corpus entry with its sequence axis named, or None when an input is not a sequence."""
    inputs = []
    for spec in entry["inputs"]:
        match = SEQUENCE.match(spec)
        if match is None:
            return None
        length = int(match.group(2))
        inputs.append(f"{match.group(1)}:Nx{{seq={length // 2}..{length}}}{match.group(3) or ''}")
    return {**entry, "inputs": inputs}


def row(entry: dict, work: Path) -> str:
    code, answer, seconds = convert(entry, work)
    if not isinstance(answer, Report):
        return f"| {entry['name']} | {code} | — | no | {answer.error.message[:150]} |"
    conversion = answer.conversion
    kept = "yes" if conversion.dynamic_axes else f"no (fixed at {conversion.static_axes.get('seq')})"
    why = conversion.static_axes_reason[:150] if conversion.static_axes else ""
    verdict = "passed" if answer.passed else "parity failed"
    return f"| {entry['name']} | {code} {verdict} | `{conversion.strategy}` | {kept} | {why} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "dynamic_axes.md")
    parser.add_argument("--min-kept", type=float, default=0.0,
                        help="exit 1 when fewer models than this share pass with {seq} dynamic (a CI gate)")
    args = parser.parse_args()
    entries = [e for e in (sequence_entry(m) for m in tomllib.loads(CORPORA["transformers"].read_text())["model"]) if e]
    if args.only:
        entries = [e for e in entries if e["name"] in args.only.split(",")]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="torch2tf-dynamic-") as work, ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda e: row(e, Path(work)), entries))
    kept = sum("| yes |" in r and " 0 passed " in r for r in rows)
    lines = ["# A dynamic sequence axis across the corpus", "",
             f"{kept} of {len(rows)} sequence models convert with parity and keep `{{seq}}` dynamic in the SavedModel "
             f"and every .tflite file ({time.perf_counter() - start:.0f} s, {args.jobs} jobs; "
             "`scripts/dynamic_axes.py`).", "",
             "| model | exit | strategy | {seq} dynamic | why fixed |", "|---|---|---|---|---|", *rows]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if kept < args.min_kept * len(rows):
        print(f"error: {kept} of {len(rows)} keep {{seq}} dynamic, below --min-kept {args.min_kept}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
