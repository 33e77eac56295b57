"""benchmarks/bench_examples.py's own logic: how repeated bench runs become one ratio, and bad --repeat."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_examples.py"


def _script():
    spec = importlib.util.spec_from_file_location("bench_examples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_run_is_its_ratio_several_the_median_and_range():
    ratio = _script()._ratio
    assert ratio([1.234]) == "1.23×"
    assert ratio([1.3, 0.9, 1.1]) == "1.10× (0.90–1.30)"
    assert ratio([0.5, 0.7], "") == "0.60 (0.50–0.70)"


def test_runs_without_a_ratio_are_left_out_and_none_is_a_dash():
    ratio = _script()._ratio
    assert ratio([None, 2.0]) == "2.00×"
    assert ratio([None, None]) == "–" and ratio([]) == "–"


def test_repeat_below_one_is_a_usage_error_before_any_conversion(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeat", "0", "--out", str(tmp_path / "bench")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--repeat 0: give at least 1 bench run" in done.stderr
    assert not (tmp_path / "bench").exists()
