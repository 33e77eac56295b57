"""report.md: a page a reviewer understands in ten seconds — verdict, parity table, then the details."""
from __future__ import annotations

from torch2tf.records import Benchmark, Localization, OutputComparison, ParityEntry, Profile, Regression, Report
from torch2tf.validation.diff import ReportDiff


def render_markdown(report: Report) -> str:
    lines = [f"# torch2tf report: {report.model}", "", summary_line(report), ""]
    lines += _strategy_line(report)
    lines += parity_table(report)
    lines += _localization(report.localization)
    lines += _regressions(report.regressions)
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    if report.benchmark:
        bench = report.benchmark
        lines += ["", "## Benchmark", "", f"{bench.threads} threads, {bench.warmup} warm-up runs, "
                  f"{bench.rounds} interleaved rounds; ratios against onnxruntime fp32.", "", *bench_table(bench)]
        lines += [f"- {n}" for n in bench.notes]
    if report.profile:
        lines += ["", "## Profile", "", *profile_table(report.profile)]
    lines += ["", "## Stages", "", "| stage | status | seconds | detail |", "|---|---|---|---|"]
    lines += [f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.detail} |" for s in report.stages]
    lines += _attempts(report)
    lines += _operators(report)
    lines += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in report.versions.items()), ""]
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    mark = "✅ PASSED" if report.passed else "❌ FAILED"
    parity = report.parity
    soft = [p.target for p in parity if not p.passed and not p.gating and p.outputs]
    failed = [f"{p.target}/{name}" for p in parity for name in p.failing_outputs()]
    failed += [f"{p.target} (did not run)" for p in parity if p.did_not_run]
    text = f"**{mark}** — {len(parity)} comparisons"
    if failed:
        text += f"; failing: {', '.join(failed)}"
    if report.regressions:
        text += f"; {len(report.regressions)} regressions against the baseline"
    if soft:
        text += f" (not gating: {', '.join(soft)} below the int8 preset; --strict-quant makes it fail)"
    uninformative = [u.output for u in report.uninformative]
    if uninformative:
        text += (f"; ⚠️ parity uninformative for {', '.join(uninformative)}: the reference does not vary across "
                 f"the samples" + (" (a failure under --strict)" if report.strict else ""))
    return text


def parity_table(report: Report) -> list[str]:
    """Target × output with ✓/✗ and the figures: what a CI job summary shows."""
    lines = ["## Parity", "", "Conversion error of every artifact against a reference of its own precision: an "
             "output passes when max abs error <= atol + rtol·max|reference| (the bound shown) and its cosine "
             "reaches the preset's minimum.", "",
             "| target | vs | output | shape | max abs | rel err | mean abs | cosine | top-1 | bound | |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for target in report.parity:
        lines += [_parity_row(target, out) for out in target.outputs]
        for error in target.errors:
            lines.append(f"| {target.target} | {target.reference} | – | | | | | | | | ✗ {error} |")
    lines += _precision_loss(report.parity)
    for u in report.uninformative:
        lines.append(f"\n⚠️ output `{u.output}`: {u.note}")
    samples = sorted({s for p in report.parity if not p.served for s in p.samples})
    lines += ["", "Samples: " + ", ".join(samples)]
    for p in report.parity:
        if p.served:
            latency = p.latency_ms
            kept = ""
            if p.carried_over:
                kept = f"; kept from smoke at {p.measured.at if p.measured else 'an unstamped time'}" + \
                    (", on a SavedModel that has changed since" if p.stale else "")
            lines.append(f"\n{p.target} ({p.endpoint or ''}): {latency.requests} requests, latency "
                         f"p50 {latency.p50:.1f} ms, p95 {latency.p95:.1f} ms{kept}")
    return lines


def _parity_row(target: ParityEntry, out: OutputComparison) -> str:
    top1 = "" if out.top1 is None else f"{out.top1:.3f}"
    bound = "–" if out.limit is None else _fmt(out.limit)
    verdict = "✓" if out.passed else "✗ " + out.note
    vs = target.reference + (" (kept)" if target.carried_over else "")
    return (f"| {target.target} | {vs} | {out.name} | {'x'.join(map(str, out.shape))} | "
            f"{_fmt(out.max_abs)} | {_fmt(out.rel_error)} | {_fmt(out.mean_abs)} | {out.cosine:.6f} | {top1} | "
            f"{bound} | {verdict} |")


def _precision_loss(parity: tuple[ParityEntry, ...]) -> list[str]:
    """The fp16 file's distance from onnxruntime fp32: what half-precision weights cost, apart from conversion."""
    rows = [(p, out) for p in parity if p.precision_loss for out in p.precision_loss.outputs]
    if not rows:
        return []
    lines = ["", "Precision loss against onnxruntime fp32 (gates only under --tolerance fp16:...):", "",
             "| target | output | max abs | rel err | mean abs | cosine | top-1 | |", "|---|---|---|---|---|---|---|---|"]
    for p, out in rows:
        top1 = "" if out.top1 is None else f"{out.top1:.3f}"
        verdict = ("✓" if out.passed else "✗ " + out.note) if p.precision_loss.gating else "reported"
        lines.append(f"| {p.target} | {out.name} | {_fmt(out.max_abs)} | {_fmt(out.rel_error)} | "
                     f"{_fmt(out.mean_abs)} | {out.cosine:.6f} | {top1} | {verdict} |")
    return lines


def bench_table(result: Benchmark) -> list[str]:
    lines = ["| runtime | batch | median ms | p90 ms | items/s | size | latency vs ORT | size vs ORT |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result.rows:
        size = f"{r.size_bytes / 1e6:.2f} MB" if r.size_bytes else "–"
        ratio = f"{r.size_vs_onnxruntime:.2f}×" if r.size_vs_onnxruntime else "–"
        lines.append(f"| {r.runtime} | {r.batch} | {r.median_ms:.2f} | {r.p90_ms:.2f} | "
                     f"{r.throughput:.1f} | {size} | {r.latency_vs_onnxruntime:.2f}× | {ratio} |")
    return lines


def profile_table(result: Profile, top: int = 10) -> list[str]:
    """The top operators of LiteRT and onnxruntime side by side, then what XNNPACK did not take."""
    tflite, onnx = result.tflite, result.onnxruntime
    lines = [f"{result.target} against onnxruntime fp32: batch {result.batch}, {result.threads} threads, "
             f"median of {result.rounds} runs per operator. LiteRT: {tflite.operators} operators, "
             f"{tflite.transposes} TRANSPOSE, whole graph {tflite.whole_ms:.2f} ms (sum of operators "
             f"{tflite.sum_us / 1000:.2f} ms); onnxruntime: {onnx.operators} nodes, "
             f"{onnx.transposes} Transpose, "
             f"whole graph {onnx.whole_ms:.2f} ms (sum {onnx.sum_us / 1000:.2f} ms, profiler on). "
             f"Whole graphs: {result.ratio:.2f}× onnxruntime.", "",
             "| # | LiteRT op | count | µs | share | alone µs | onnxruntime op | count | µs | share |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for rank in range(min(top, max(len(tflite.ops), len(onnx.ops)))):
        left = tflite.ops[rank] if rank < len(tflite.ops) else None
        right = onnx.ops[rank] if rank < len(onnx.ops) else None
        cells = [f"{left.op} | {left.count} | {left.us:.0f} | {left.share:.0%} | {left.alone_us or 0:.0f}"
                 if left else " | | | | ",
                 f"{right.op} | {right.count} | {right.us:.0f} | {right.share:.0%}" if right else " | | | "]
        lines.append(f"| {rank + 1} | {cells[0]} | {cells[1]} |")
    xnnpack = tflite.xnnpack
    fallbacks = ", ".join(f"{op}×{n}" for op, n in xnnpack.fallbacks.items()) or "none"
    lines += ["", f"- XNNPACK takes {xnnpack.taken} of {xnnpack.timed} operators (each tried alone); the whole "
              f"graph runs in {xnnpack.partitions} XNNPACK partition(s). Not taken (LiteRT's own kernels): "
              f"{fallbacks}."]
    lines += [f"- not timed: {what} ×{n}" for what, n in (tflite.not_timed or {}).items()]
    lines += ["- LiteRT µs: inside the graph (an operator with one reader: the pair's time less the reader's alone, "
              "so a PAD that XNNPACK fuses into the next convolution costs ~0); alone µs: the operator by itself."]
    return lines


def _bytes(value: int | None) -> str:
    return "absent" if value is None else str(value)


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "inf"
    return f"{value:.2e}"


def _strategy_line(report: Report) -> list[str]:
    conversion = report.conversion
    if not conversion.strategy:
        return []
    return [f"Exporter: `{report.export.exporter or '?'}` · strategy: "
            f"`{conversion.strategy}` · serving signature batch: dynamic"
            + (f" (onnx2tf batch fixed to {conversion.raw_batch}, restored by mapping over rows)"
               if conversion.raw_batch else "")
            + (f" · TFLite signature `serving_default` (PyTorch names, images {conversion.tflite_layout.upper()})"
               if conversion.tflite_layout else "") + _axes_text(conversion), ""]


def _axes_text(conversion) -> str:
    """The named dims: kept dynamic in every artifact, or fixed (at which size, and why)."""
    if conversion.dynamic_axes:
        return " · dynamic axes " + ", ".join(f"`{{{n}}}`" for n in conversion.dynamic_axes) + \
            " (None in the SavedModel signature, -1 in each .tflite shape_signature)"
    if conversion.static_axes:
        fixed = ", ".join(f"`{{{n}}}` = {size}" for n, size in conversion.static_axes.items())
        return f" · **fixed axes** {fixed}: no strategy kept them dynamic ({conversion.static_axes_reason})"
    return ""


def _localization(localization: Localization | None) -> list[str]:
    if not localization:
        return []
    lines = ["", "## Where it starts to differ", ""]
    if not localization.found:
        return lines + ["No single ONNX node differs on its own (the error accumulates, or the cut "
                        "graphs could not be compared)."]
    lines.append(f"First differing node: **{localization.node}** ({localization.op_type}), "
                 f"tensor `{localization.tensor}`"
                 + (f", max abs {_fmt(localization.max_abs)}" if localization.max_abs is not None else ""))
    if localization.module or localization.source:
        lines.append(f"PyTorch: module `{localization.module or '?'}`"
                     + (f" at `{localization.source}`" if localization.source else ""))
    lines.append(f"Found by bisection in {localization.probes} partial conversions. " + localization.note)
    return lines


def _regressions(regressions: tuple[Regression, ...]) -> list[str]:
    if not regressions:
        return []
    lines = ["", "## Regressions against the baseline", "", "| target | output | figure | baseline | now |",
             "|---|---|---|---|---|"]
    return lines + [f"| {r.target} | {r.output} | {r.figure} | {_fmt(r.baseline)} | {_fmt(r.value)} |"
                    for r in regressions]


def _attempts(report: Report) -> list[str]:
    lines = []
    attempts = report.conversion.attempts
    if any(a.tflite_fp32_ms is not None for a in attempts):  # --tune timed the strategies that held parity
        lines += ["", "## Conversion attempts (--tune: the fastest TFLite fp32 file of those that hold parity; "
                  "the earliest strategy within 5% of it)", "",
                  "| exporter | strategy | result | TFLite fp32 ms | reason |", "|---|---|---|---|---|"]
        lines += [f"| {a.exporter} | {a.strategy} | {a.status} | "
                  f"{'–' if a.tflite_fp32_ms is None else a.tflite_fp32_ms} | {a.reason} |" for a in attempts]
    elif attempts:
        lines += ["", "## Conversion attempts", "", "| exporter | strategy | result | reason |", "|---|---|---|---|"]
        lines += [f"| {a.exporter} | {a.strategy} | {a.status} | {a.reason} |" for a in attempts]
    failed_exports = [a for a in report.export.attempts if a.status != "ok"]
    if failed_exports:
        lines += ["", "## Export fallbacks", ""] + [f"- {a.exporter}: {a.reason}" for a in failed_exports]
    return lines


def _operators(report: Report) -> list[str]:
    lines = []
    onnx_ops = [o for o in report.operators if not o.target]
    if onnx_ops:
        lines += ["", "## Operators", "", "ONNX: " + ", ".join(
            f"{o.op_type}×{o.count}" + ("" if o.status in ("builtin", "exported") else f" ({o.status})")
            for o in onnx_ops)]
    for target, summary in report.conversion.tflite.items():
        kinds = "builtin only" if summary.builtin_only else "needs " + ", ".join(summary.needs)
        lines.append(f"\n{target}: {sum(summary.ops.values())} ops, {kinds}, "
                     f"{summary.transpose_count} TRANSPOSE — "
                     + ", ".join(f"{k}×{v}" for k, v in summary.ops.items()))
    return lines


DIFF_MARKER = "<!-- torch2tf-report-diff -->"  # lets a CI step find and update its own PR comment


def render_diff(diff: ReportDiff) -> str:
    """A report diff as Markdown: the verdict first, then what changed."""
    now = "passes" if diff.passed[1] else "FAILS"
    then = "passing" if diff.passed[0] else "failing"
    verdict = f"{'✗ regressed' if diff.regressed else '✓ no regression'} · parity {now} now (was {then})"
    lines = [DIFF_MARKER, "## torch2tf: what this change did to the converted model", "", f"**{verdict}**", ""]
    lines += [f"- ✗ {text}" for text in diff.regressions] + [f"- ✓ {text}" for text in diff.improvements]
    lines += ["", "| target | output | max abs then → now | mean abs then → now | cosine now | change |",
              "|---|---|---|---|---|---|"]
    for row in diff.outputs:
        mark = "✗ " if row.worse else ("✓ " if row.better else "")
        lines.append(f"| {row.target} | {row.output} | {_pair(row.max_abs)} | {_pair(row.mean_abs)} | "
                     f"{_maybe(row.cosine[1], '.6f')} | {mark}{row.change} |")
    changed = [s for s in diff.sizes if s.ratio is None or abs(s.ratio - 1) > 0.01]
    if changed:
        lines += ["", "| artifact | bytes then → now | ratio |", "|---|---|---|"]
        lines += [f"| {s.artifact} | {_bytes(s.bytes[0])} → {_bytes(s.bytes[1])} | "
                  f"{_maybe(s.ratio, '.2f') + ('×' if s.ratio is not None else '')} |" for s in changed]
    if diff.latency:
        lines += ["", "| runtime | batch | median ms then → now | ratio |", "|---|---|---|---|"]
        lines += [f"| {r.runtime} | {r.batch} | {r.median_ms[0]:.2f} → {r.median_ms[1]:.2f} | {r.ratio:.2f}× |"
                  for r in diff.latency]
    ops = diff.operators
    if ops.get("added") or ops.get("removed"):
        added, removed = ", ".join(ops["added"]) or "none", ", ".join(ops["removed"]) or "none"
        lines += ["", f"Operators added: {added}; removed: {removed}."]
    if diff.strategy:
        lines += ["", f"Conversion strategy: {diff.strategy['old']} → {diff.strategy['new']}."]
    return "\n".join(lines) + "\n"


def _pair(values: list) -> str:
    return f"{_maybe(values[0], '.2e')} → {_maybe(values[1], '.2e')}"


def _maybe(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)
