"""`bench --plot`: rendered for real (matplotlib, Agg), one row of panels per batch size; without
matplotlib the run stops before any timing."""
from __future__ import annotations

import builtins

import pytest

from torch2tf.errors import UsageError
from torch2tf.perf.bench import BenchOptions, run_bench
from torch2tf.perf.plot import plot_benchmark
from torch2tf.records import Benchmark, BenchRow


def _benchmark() -> Benchmark:
    rows = []
    for batch in (1, 8):
        for runtime, ms, size in (("torch", 800.0, None), ("onnxruntime", 1.2, 4_000_000), ("saved_model", 9.0, 4_100_000),
                                  ("tflite_float32", 1.1, 3_900_000), ("tflite_float16", 1.1, 2_000_000)):
            ms *= batch ** 0.5
            rows.append(BenchRow(runtime, batch, ms, ms * 1.1, batch * 1000 / ms, size, ms / (1.2 * batch ** 0.5),
                                 None if size is None else size / 4_000_000))
    return Benchmark(2, (1, 8), 20, 3, tuple(rows))


def test_the_plot_has_a_row_of_panels_per_batch_with_log_latency(tmp_path):
    import matplotlib.image

    path = tmp_path / "bench.png"
    plot_benchmark(_benchmark(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(str(path)).shape
    assert width == 12 * 110 and height > 600  # two batch rows of five artifacts


def test_the_axes_say_what_is_drawn(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    saved = []
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: saved.append(fig))
    plot_benchmark(_benchmark(), tmp_path / "bench.png")
    (fig,) = saved
    latency, size = fig.axes[0], fig.axes[1]
    assert latency.get_xscale() == "log" and "batch 1" in latency.get_xlabel() and "batch 8" in fig.axes[2].get_xlabel()
    labels = [t.get_text() for t in latency.texts]
    assert labels[0].startswith("1.1 ms") and any(t.startswith("800 ms") for t in labels)  # fastest first
    assert [t.get_text() for t in size.texts][-1] == "–"  # torch eager has no file


def test_without_matplotlib_bench_stops_before_timing(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(UsageError, match=r"--plot needs matplotlib: pip install 'torch2tf\[plot\]'"):
        run_bench(BenchOptions(tmp_path / "not-even-a-convert-output", plot=tmp_path / "bench.png"))
