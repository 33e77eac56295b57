"""Many small onnx2tf conversions in few child processes: the operator table's measurement runs.

The adapter's child (``torch2tf.conversion.onnx_to_tf``) takes a list of requests and marks each job in its
log; this driver, which only the op-table script needs, hands it batches and reads the marks.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from torch2tf.conversion.children import ANSI, run_onnx2tf_child, summarize_log
from torch2tf.conversion.onnx_to_tf import DEFAULT_TIMEOUT_S, Onnx2TfRequest


def run_onnx2tf_many(requests: list[Onnx2TfRequest], work_dir: Path,
                     timeout_s: int = DEFAULT_TIMEOUT_S) -> list[str | None]:
    """Run many small conversions in few child processes (TensorFlow is imported once per child).

    Returns, per request, None on success or the reason it failed. A child that dies mid-batch
    fails the job it was on; the rest go to a new child.
    """
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    results: list[str | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    round_ = 0
    while pending:
        round_ += 1
        log_path = work_dir / f"batch-{round_}.log"
        request_path = work_dir / f"batch-{round_}.json"
        request_path.write_text(json.dumps([asdict(requests[i]) for i in pending]))
        run_onnx2tf_child(request_path, log_path, timeout_s)
        done: dict[int, str | None] = {}
        started = None
        for line in ANSI.sub("", log_path.read_text(errors="replace")).splitlines():
            if line.startswith("TORCH2TF-JOB-START "):
                started = int(line.split()[1])
            elif line.startswith("TORCH2TF-JOB-OK "):
                done[int(line.split()[1])] = None
            elif line.startswith("TORCH2TF-FAILURE:") and started is not None:
                done[started] = line.split(":", 1)[1].strip()
        for position, index in enumerate(pending):
            if position in done:
                results[index] = done[position]
        if started is None:  # the child died before its first job: nothing more will come of retrying
            reason = f"onnx2tf child failed to start: {summarize_log(log_path)}"
            for index in pending:
                results[index] = reason
            return results
        if started not in done:  # the child died on this job
            results[pending[started]] = "onnx2tf crashed or timed out"
            done[started] = "crashed"
        pending = [index for position, index in enumerate(pending) if position not in done]
    return results
