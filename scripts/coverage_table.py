"""reports/coverage.md: one table over the corpora scripts/coverage.py converted, a summary line per corpus."""
from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.coverage import Row

INTRO = ("Written by `make coverage` (scripts/coverage.py) from tests/corpus/corpus.toml (transformers classes "
         "with tiny configs) and tests/corpus/vision.toml (timm and torchvision architectures at the smallest size "
         "each family takes, BatchNorm statistics recalibrated on random images), seeded random weights, converted "
         "with the CLI as users run it, from scratch (`--no-cache`). *Converted* means the SavedModel and TFLite "
         "fp32 match onnxruntime within the fp32 preset (max abs error <= 1e-5 + 2e-4·max|reference|), on outputs "
         "that vary across the samples: a model whose output is constant is never counted. The TFLite fp16 column "
         "gives the fp16 file's conversion error (against the fp32 file with its weights rounded to half, judged "
         "by the fp32 preset: ✓/✗) and its precision loss (against onnxruntime fp32, reported). The latency column is "
         "TFLite fp32 / onnxruntime median at batch 1 on one thread (30 runs each, in blocks as `torch2tf bench` "
         "times them, measured after all conversions, one model at a time); *seconds* is the whole `convert`, "
         "every artifact's validation included, two conversions at a time on the machine's cores.")
HEADER = ("| corpus | model | family | form | result | exporter | strategy | batch | TFLite | SavedModel max abs "
          "(relative) | TFLite fp32 max abs (relative) | TFLite fp16 conversion error · precision loss | "
          "TFLite fp32 / ORT latency | seconds | reason |")


def render(rows: list[Row], seconds: float, jobs: int, ran: str) -> tuple[str, list[str]]:
    corpora = list(dict.fromkeys(r.corpus for r in rows))
    summaries = [_summary(corpus, [r for r in rows if r.corpus == corpus]) for corpus in corpora]
    lines = ["# Architecture coverage", "", INTRO, "",
             f"Ran: {ran} of {', '.join(corpora)}; {seconds / 60:.1f} min with {jobs} jobs.", "",
             *[f"**{s}**  " for s in summaries], "", HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for r in rows:
        result = "✓ converted" if r.converted else "⚠️ uninformative" if r.uninformative and r.exit_code in (0, 3) \
            else "✗ " + ("parity" if r.exit_code == 3 else "failed")
        reason = r.reason + (f" ({r.precheck})" if r.precheck else "")
        lines.append(f"| {r.corpus} | {r.name} | {r.family} | {r.form} | {result} | {r.exporter} | {r.strategy} | "
                     f"{r.batch} | {r.tflite} | {r.errors.get('saved_model', '')} | "
                     f"{r.errors.get('tflite_float32', '')} | {r.fp16} | {r.speed} | {r.seconds:.0f} | {reason.replace('|', '/')} |")
    return "\n".join(lines) + "\n", summaries


def _summary(corpus: str, rows: list[Row]) -> str:
    total = len(rows)
    converted = sum(r.converted for r in rows)
    native = sum(r.converted and r.batch == "native" for r in rows)
    builtin = sum(r.converted and r.tflite == "builtin" for r in rows)
    blocked = sum(r.precheck == "converts with --no-op-check" for r in rows)
    fp16_failed = [r.name for r in rows if r.converted and r.fp16_ok is False]
    seconds = statistics.median(r.seconds for r in rows)
    slowest = max(rows, key=lambda r: r.seconds)
    return (f"{corpus}: {converted}/{total} converted with fp32 parity ({100 * converted / total:.0f}%), "
            f"{native}/{total} with a native dynamic batch ({100 * native / total:.0f}%), {builtin}/{total} TFLite "
            f"builtin-only; of the converted, {len(fp16_failed)} with an fp16 file off its fp16-weights reference"
            f"{' (' + ', '.join(fp16_failed) + ')' if fp16_failed else ''}; {blocked} refused by the pre-check that convert without it; median {seconds:.0f} s "
            f"per model, slowest {slowest.name} {slowest.seconds:.0f} s")
