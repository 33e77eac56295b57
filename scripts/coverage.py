#!/usr/bin/env python
"""Convert the architecture corpus with the CLI and write reports/coverage.md (`make coverage`).

Every model of tests/corpus/corpus.toml goes through `torch2tf convert` as a user would run it,
in its own process (--jobs at a time). A model stopped by the operator pre-check is converted
again with --no-op-check, so the table shows whether the pre-check refused a model that converts.

    .venv/bin/python scripts/coverage.py [--jobs 2] [--only NAME,NAME] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from torch2tf.records import ErrorRecord, FailedRun, Report, parse_answer
from torch2tf.specs import TensorSpec

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "corpus" / "corpus.toml"
FP32_TARGETS = ("saved_model", "tflite_float32")
REASON_CHARS = 200
SPEED_ROUNDS = 30


@dataclass
class Row:
    name: str
    family: str
    form: str
    exit_code: int = -1
    seconds: float = 0.0
    exporter: str = ""
    strategy: str = ""
    batch: str = ""  # native | mapped | static
    tflite: str = ""  # builtin | needs Flex (...)
    errors: dict[str, str] = field(default_factory=dict)  # fp32 target → worst max abs (or why it did not run)
    export_ok: bool = True  # onnxruntime on the export matches torch
    reason: str = ""
    precheck: str = ""  # for a model the pre-check stopped: does it convert with --no-op-check?
    speed: str = ""  # TFLite fp32 / onnxruntime median latency at batch 1, one thread, measured alone
    uninformative: list[str] = field(default_factory=list)  # outputs whose reference does not vary

    @property
    def converted(self) -> bool:
        """Converted with fp32 parity for the SavedModel and TFLite fp32 (fp16 is reported, not required), on
        outputs that vary across the samples (a constant output makes parity prove nothing)."""
        return self.exit_code in (0, 3) and self.export_ok and set(self.errors) == set(FP32_TARGETS) and \
            all(v.startswith("✓") for v in self.errors.values()) and not self.uninformative


def convert(entry: dict, work: Path, extra: tuple[str, ...] = ()) -> tuple[int, Report | FailedRun, float]:
    out = work / entry["name"]
    args = [sys.executable, "-m", "torch2tf", "convert", entry["model"], "-o", str(out), "--force", "-q", "--json",
            "--no-localize", "--no-cache",  # the seconds column is a conversion from scratch
            *[a for spec in entry["inputs"] for a in ("-i", spec)], *entry.get("options", []), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    answer = parse_answer(proc.stdout)
    if answer is None:  # it crashed before printing its --json answer
        answer = FailedRun(ErrorRecord("crash", "failed", (proc.stderr.strip().splitlines() or ["no output"])[-1]))
    return proc.returncode, answer, seconds


def row_for(entry: dict, work: Path) -> Row:
    row = Row(entry["name"], entry["family"], entry["form"])
    row.exit_code, report, row.seconds = convert(entry, work)
    if isinstance(report, FailedRun):
        error = report.error
        row.reason = _one_line(error.message)
        if error.stage == "check_onnx" and error.kind == "limitation":
            code, _, _ = convert(entry, work, ("--no-op-check",))
            row.precheck = "converts with --no-op-check" if code == 0 else "fails with --no-op-check too"
        return row
    conversion = report.conversion
    row.exporter, row.strategy = conversion.exporter, conversion.strategy
    dynamic = any(spec.dynamic_batch for spec in (TensorSpec.from_json(i) for i in report.inputs))
    row.batch = "static" if not dynamic else "mapped" if conversion.raw_batch else "native"
    summary = conversion.tflite.get("tflite_float32")
    row.tflite = "builtin" if summary is None or summary.builtin_only else "needs " + ", ".join(summary.needs)
    for entry_ in report.parity:
        if entry_.reference == "torch":
            row.export_ok = entry_.passed
        if entry_.target in FP32_TARGETS:
            worst = max((o.max_abs for o in entry_.outputs), default=float("inf"))
            rel = max((o.rel_error for o in entry_.outputs), default=float("inf"))
            mark = "✓" if entry_.passed else "✗"
            row.errors[entry_.target] = f"{mark} {worst:.1e} (rel {rel:.1e})" if entry_.outputs else "✗ did not run"
    row.uninformative = [u.output for u in report.uninformative]
    if not report.passed:
        failing = [p.target for p in report.parity if not p.passed and p.judged]
        row.reason = "parity failed: " + ", ".join(failing)
    if row.uninformative:
        row.reason = "; ".join(filter(None, [row.reason, "parity uninformative (constant output): "
                                             + ", ".join(row.uninformative)]))
    return row


def measure_speed(rows: list[Row], work: Path) -> None:
    """After every conversion finished (nothing else running), TFLite fp32 against onnxruntime per model."""
    from torch2tf.errors import Torch2TFError
    from torch2tf.perf.bench import tflite_vs_onnxruntime

    for row in rows:
        if not row.converted:
            continue
        try:
            timing = tflite_vs_onnxruntime(work / row.name, threads=1, rounds=SPEED_ROUNDS)
        except Torch2TFError as exc:
            row.speed = f"did not run: {_one_line(exc.message)}"
            continue
        row.speed = f"{timing['ratio']:.2f} ({timing['tflite_ms']:.2f} ms)"
        print(f"speed {row.name}: TFLite fp32 / onnxruntime {row.speed}", flush=True)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[:REASON_CHARS - 1] + "…"


def render(rows: list[Row], seconds: float, jobs: int) -> tuple[str, str]:
    total = len(rows)
    converted = sum(r.converted for r in rows)
    native = sum(r.converted and r.batch == "native" for r in rows)
    builtin = sum(r.converted and r.tflite == "builtin" for r in rows)
    blocked = [r.name for r in rows if r.precheck == "converts with --no-op-check"]
    summary = (f"coverage: {converted}/{total} converted with fp32 parity ({100 * converted / total:.0f}%), "
               f"{native}/{total} with a native dynamic batch ({100 * native / total:.0f}%), {builtin}/{total} "
               f"TFLite builtin-only; {len(blocked)} refused by the pre-check that convert without it; "
               f"{seconds / 60:.1f} min with {jobs} jobs")
    lines = ["# Architecture coverage", "", "Written by `make coverage` (scripts/coverage.py) from tests/corpus/corpus.toml: "
             "transformers classes with tiny configs and seeded random weights, converted with the CLI as users run "
             "it. *Converted* means the SavedModel and TFLite fp32 match onnxruntime within the fp32 preset "
             "(max abs error <= 1e-5 + 2e-4·max|reference|), on outputs that vary across the samples: a model "
             "whose output is constant is never counted. "
             "The latency column is TFLite fp32 / onnxruntime median at batch 1 on one thread (30 runs each, "
             "in blocks as `torch2tf bench` times them, measured after all conversions, one model at a time).",
             "",
             f"**{summary}**", "",
             "| model | family | form | result | exporter | strategy | batch | TFLite | SavedModel max abs (relative) | "
             "TFLite fp32 max abs (relative) | TFLite fp32 / ORT latency | seconds | reason |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        result = "✓ converted" if r.converted else "⚠️ uninformative" if r.uninformative and r.exit_code in (0, 3) \
            else "✗ " + ("parity" if r.exit_code == 3 else "failed")
        reason = r.reason + (f" ({r.precheck})" if r.precheck else "")
        lines.append(f"| {r.name} | {r.family} | {r.form} | {result} | {r.exporter} | {r.strategy} | {r.batch} | "
                     f"{r.tflite} | {r.errors.get('saved_model', '')} | {r.errors.get('tflite_float32', '')} | "
                     f"{r.speed} | {r.seconds:.0f} | {reason.replace('|', '/')} |")
    return "\n".join(lines) + "\n", summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="conversions at a time")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--keep", type=Path, help="keep every output directory here")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "coverage.md")
    parser.add_argument("--min-converted", type=float, default=0.0,
                        help="exit 1 when a smaller share of the corpus converts with fp32 parity")
    parser.add_argument("--min-native", type=float, default=0.0,
                        help="exit 1 when a smaller share converts with a native dynamic batch")
    args = parser.parse_args()
    entries = tomllib.loads(MANIFEST.read_text())["model"]
    if args.only:
        wanted = set(args.only.split(","))
        entries = [e for e in entries if e["name"] in wanted]
    work = args.keep or Path(tempfile.mkdtemp(prefix="torch2tf-coverage-"))
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows: dict[str, Row] = {}
    try:
        with ThreadPoolExecutor(args.jobs) as pool:  # threads only wait: each model converts in its own process
            futures = {pool.submit(row_for, e, work): e for e in entries}
            for done, future in enumerate(as_completed(futures), 1):
                row = future.result()
                rows[row.name] = row
                print(f"[{done}/{len(entries)}] {row.name}: {'converted' if row.converted else 'NOT converted'} "
                      f"in {row.seconds:.0f}s {row.reason}", flush=True)
        measure_speed([rows[e["name"]] for e in entries], work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    ordered = [rows[e["name"]] for e in entries]
    text, summary = render(ordered, time.perf_counter() - start, args.jobs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix(".json").write_text(json.dumps([asdict(r) | {"converted": r.converted} for r in ordered],
                                                           indent=1) + "\n")
    print(summary)
    converted = sum(r.converted for r in ordered) / len(ordered)
    native = sum(r.converted and r.batch == "native" for r in ordered) / len(ordered)
    if converted < args.min_converted or native < args.min_native:
        print(f"coverage below the floor: converted {converted:.0%} (floor {args.min_converted:.0%}), "
              f"native dynamic batch {native:.0%} (floor {args.min_native:.0%})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
