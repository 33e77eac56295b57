"""Progress lines: a running stage says it still runs (with what it is doing) in plain lines off a
terminal and redraws one spinner line on one; onnx2tf's node counter is read from its log."""
from __future__ import annotations

import threading

import torch2tf.cli.progress as progress
from torch2tf.conversion.onnx_to_tf import nodes_converted
from torch2tf.pipeline.options import StageEvent
from torch2tf.progress import activity


def _run_a_stage(printer, ticks: int) -> None:
    """A stage that lasts until the ticker has drawn `ticks` times (no clock in the assertion)."""
    drawn = threading.Semaphore(0)
    original = progress._write

    def counting(text):
        original(text)
        if "[convert] " in text and ("still running" in text or "⠋" in text or "⠙" in text):
            drawn.release()

    progress._write = counting
    try:
        with activity(lambda: "onnx2tf: 7/40 nodes"):
            printer(StageEvent("convert", "start"))
            for _ in range(ticks):
                assert drawn.acquire(timeout=30)
            printer(StageEvent("convert", "ok", 1.5, "dynamo/dynamic-batch"))
    finally:
        progress._write = original
        printer.close()


def test_off_a_terminal_a_running_stage_prints_plain_lines(monkeypatch, capsys):
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.01)
    _run_a_stage(progress.ProgressPrinter(interactive=False), ticks=2)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[convert] ..."
    assert lines[1].startswith("[convert] … still running, ") and lines[1].endswith("s · onnx2tf: 7/40 nodes")
    assert lines[-1] == "[convert] ok in 1.5s — dynamo/dynamic-batch"
    assert "\r" not in "".join(lines)


def test_on_a_terminal_one_line_is_redrawn_then_cleared(monkeypatch, capsys):
    monkeypatch.setattr(progress, "REDRAW_S", 0.01)
    _run_a_stage(progress.ProgressPrinter(interactive=True), ticks=2)
    err = capsys.readouterr().err
    assert "\r\x1b[K[convert] ⠋ " in err and "\r\x1b[K[convert] ⠙ " in err and "onnx2tf: 7/40 nodes" in err
    assert err.endswith("\r\x1b[K[convert] ok in 1.5s — dynamo/dynamic-batch\n")  # the spinner line cleared first


def test_the_node_counter_is_the_last_one_the_child_wrote(tmp_path):
    log = tmp_path / "onnx2tf.log"
    log.write_text("I0000 chatter\n")
    assert nodes_converted(log) == ""
    log.write_text("TORCH2TF-JOB-START 0\nTORCH2TF-NODES 1/321\n" + "x" * 5000 + "\nTORCH2TF-NODES 143/321\n")
    assert nodes_converted(log) == "onnx2tf: 143/321 nodes"


def test_the_elapsed_time_is_the_stage_s_across_its_info_lines(monkeypatch, capsys):
    """A strategy's info line ("dynamo/dynamic-batch: failed") does not restart the stage's clock."""
    from types import SimpleNamespace

    now = [100.0]
    monkeypatch.setattr(progress, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.01)
    printer = progress.ProgressPrinter(interactive=False)
    printer(StageEvent("convert", "start"))
    now[0] = 130.0
    printer(StageEvent("convert", "info", 25.0, "dynamo/dynamic-batch: failed"))
    drawn = threading.Event()
    original = progress._write
    monkeypatch.setattr(progress, "_write", lambda text: (original(text), "still running" in text and drawn.set()))
    assert drawn.wait(timeout=30)
    printer.close()
    assert "[convert] … still running, 30s" in capsys.readouterr().err
