"""``bench --plot``: which artifact to ship, drawn — latency on a log scale and size side by side, one row
of panels per batch size, every bar labelled with its value (matplotlib, the ``plot`` extra)."""
from __future__ import annotations

from pathlib import Path

from torch2tf.errors import UsageError
from torch2tf.records import Benchmark

FASTEST, OTHER, SIZE = "#2a9d8f", "#8d99ae", "#e9c46a"


def require_matplotlib():
    """matplotlib.pyplot on the file-only backend, or a usage error — checked before any benchmark runs."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError("--plot needs matplotlib: pip install 'torch2tf[plot]'") from exc
    return plt


def plot_benchmark(result: Benchmark, path: Path) -> None:
    plt = require_matplotlib()
    batches = result.batches
    fig, axes = plt.subplots(len(batches), 2, figsize=(12, 0.5 + 0.45 * _most_rows(result) * len(batches) + 1),
                             squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
    for (latency, size), batch in zip(axes, batches):
        rows = sorted((r for r in result.rows if r.batch == batch), key=lambda r: r.median_ms)
        names = [r.runtime for r in rows]
        bars = latency.barh(names, [r.median_ms for r in rows], color=[FASTEST] + [OTHER] * (len(rows) - 1))
        latency.set_xscale("log")
        latency.bar_label(bars, labels=[f"{_ms(r.median_ms)} ms ({r.latency_vs_onnxruntime:.2f}×)" for r in rows],
                          padding=3, fontsize=8)
        latency.set_xlim(min(r.median_ms for r in rows) / 2, max(r.median_ms for r in rows) * 8)
        latency.set_xlabel(f"median latency, ms, log scale — batch {batch}, {result.threads} threads "
                           "(× onnxruntime)")
        latency.invert_yaxis()
        sized = [(r.size_bytes or 0) / 1e6 for r in rows]
        bars = size.barh(names, sized, color=SIZE)
        size.bar_label(bars, labels=[f"{s:.2f} MB" if s else "–" for s in sized], padding=3, fontsize=8)
        size.set_xlim(0, max(sized + [1e-3]) * 1.4)
        size.set_xlabel("size on disk, MB")
        size.set_yticks(range(len(names)), labels=[""] * len(names))
        size.invert_yaxis()
    fig.suptitle("Which artifact to ship: latency and size of every artifact, fastest first")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _most_rows(result: Benchmark) -> int:
    return max(sum(r.batch == b for r in result.rows) for b in result.batches)
