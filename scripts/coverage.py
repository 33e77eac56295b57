#!/usr/bin/env python
"""Convert the architecture corpora with the CLI and write reports/coverage.md (`make coverage`).

Every model of tests/corpus/corpus.toml (transformers) and tests/corpus/vision.toml (timm, torchvision)
goes through `torch2tf convert` as a user would run it, in its own process (--jobs at a time). A model
stopped by the operator pre-check is converted again with --no-op-check, so the table shows whether
the pre-check refused a model that converts. `--share ci` converts only the entries marked `ci = true`
(the fixed share CI has time for); the report says which share ran.

    .venv/bin/python scripts/coverage.py [--jobs 2] [--corpus vision] [--share ci] [--only NAME,NAME] [--keep DIR]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.coverage_table import render  # noqa: E402
from torch2tf.records import ErrorRecord, FailedRun, Report, parse_answer  # noqa: E402
from torch2tf.specs import TensorSpec  # noqa: E402

CORPORA = {"transformers": ROOT / "tests" / "corpus" / "corpus.toml",
           "vision": ROOT / "tests" / "corpus" / "vision.toml"}
FP32_TARGETS = ("saved_model", "tflite_float32")
REASON_CHARS = 200
SPEED_ROUNDS = 30


@dataclass
class Row:
    name: str
    family: str
    form: str
    corpus: str = ""
    exit_code: int = -1
    seconds: float = 0.0
    exporter: str = ""
    strategy: str = ""
    batch: str = ""  # native | mapped | static
    tflite: str = ""  # builtin | needs Flex (...)
    errors: dict[str, str] = field(default_factory=dict)  # fp32 target → worst max abs (or why it did not run)
    fp16: str = ""  # the fp16 file's conversion error (vs its fp16-weights reference) · precision loss (vs fp32)
    fp16_ok: bool | None = None  # its conversion error within the fp32 preset (None: no fp16 file was judged)
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
    row = Row(entry["name"], entry["family"], entry["form"], entry["corpus"])
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
        if entry_.target == "tflite_float16":
            row.fp16_ok, row.fp16 = entry_.passed, _fp16_cell(entry_)
    row.uninformative = [u.output for u in report.uninformative]
    if not report.passed:
        failing = [p.target for p in report.parity if not p.passed and p.judged]
        row.reason = "parity failed: " + ", ".join(failing)
    if row.uninformative:
        row.reason = "; ".join(filter(None, [row.reason, "parity uninformative (constant output): "
                                             + ", ".join(row.uninformative)]))
    return row


def _fp16_cell(entry) -> str:
    """"✓ rel 0.0e+00 · loss rel 5.2e-04 (cos 1.0000)": conversion error, then what half weights cost."""
    if not entry.outputs:
        return "✗ did not run"
    rel = max(o.rel_error for o in entry.outputs)
    cell = f"{'✓' if entry.passed else '✗'} rel {rel:.1e}"
    loss = entry.precision_loss
    if loss and loss.outputs:
        cell += (f" · loss rel {max(o.rel_error for o in loss.outputs):.1e} "
                 f"(cos {min(o.cosine for o in loss.outputs):.4f})")
    return cell


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


def main() -> int:
    args = _arguments()
    entries = _entries(args.corpus.split(","), args.share, args.only)
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
    ran = "the CI share (of a corpus that marks entries `ci = true`, only those)" if args.share == "ci" else \
        "every entry"
    text, summaries = render(ordered, time.perf_counter() - start, args.jobs, ran)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix(".json").write_text(json.dumps([asdict(r) | {"converted": r.converted} for r in ordered],
                                                           indent=1) + "\n")
    print("\n".join(summaries))
    return 1 if _below_floors(ordered, _floors(args.min_converted), _floors(args.min_native)) else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="conversions at a time")
    parser.add_argument("--corpus", default=",".join(CORPORA), help=f"comma-separated, of {', '.join(CORPORA)}")
    parser.add_argument("--share", choices=("all", "ci"), default="all",
                        help="ci: of a corpus that marks entries ci = true, only those (the fixed share CI converts)")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--keep", type=Path, help="keep every output directory here")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "coverage.md")
    parser.add_argument("--min-converted", action="append", default=[], metavar="CORPUS=SHARE",
                        help="exit 1 when a smaller share of that corpus converts with fp32 parity (repeatable)")
    parser.add_argument("--min-native", action="append", default=[], metavar="CORPUS=SHARE",
                        help="exit 1 when a smaller share of that corpus converts with a native dynamic batch")
    args = parser.parse_args()
    unknown = set(args.corpus.split(",")) - set(CORPORA)
    if unknown:
        parser.error(f"unknown corpus {', '.join(sorted(unknown))} (known: {', '.join(CORPORA)})")
    return args


def _entries(corpora: list[str], share: str, only: str | None) -> list[dict]:
    entries = []
    for corpus in corpora:
        mine = [e | {"corpus": corpus} for e in tomllib.loads(CORPORA[corpus].read_text())["model"]]
        if share == "ci" and any(e.get("ci") for e in mine):  # a corpus that marks no share runs whole
            mine = [e for e in mine if e.get("ci")]
        entries += mine
    if only:
        wanted = set(only.split(","))
        entries = [e for e in entries if e["name"] in wanted]
    return entries


def _floors(pairs: list[str]) -> dict[str, float]:
    floors = {}
    for pair in pairs:
        corpus, _, share = pair.partition("=")
        if corpus not in CORPORA or not share:
            raise SystemExit(f"--min-*: expected CORPUS=SHARE with CORPUS one of {', '.join(CORPORA)}, got {pair!r}")
        floors[corpus] = float(share)
    return floors


def _below_floors(rows: list[Row], min_converted: dict[str, float], min_native: dict[str, float]) -> bool:
    below = False
    for corpus in dict.fromkeys(r.corpus for r in rows):
        mine = [r for r in rows if r.corpus == corpus]
        converted = sum(r.converted for r in mine) / len(mine)
        native = sum(r.converted and r.batch == "native" for r in mine) / len(mine)
        if converted < min_converted.get(corpus, 0.0) or native < min_native.get(corpus, 0.0):
            print(f"{corpus} coverage below the floor: converted {converted:.0%} (floor "
                  f"{min_converted.get(corpus, 0.0):.0%}), native dynamic batch {native:.0%} (floor "
                  f"{min_native.get(corpus, 0.0):.0%})", file=sys.stderr)
            below = True
    return below


if __name__ == "__main__":
    sys.exit(main())
