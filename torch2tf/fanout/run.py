"""``convert-many``: plan one task per manifest entry, run them on an engine, write the summary."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch2tf.errors import UsageError
from torch2tf.fanout.engines import RayOptions, run_local, run_ray
from torch2tf.fanout.manifest import ModelEntry, OptionSpec
from torch2tf.fanout.summary import Progress, write_summary
from torch2tf.fanout.tasks import ConvertTask
from torch2tf.records import Summary


@dataclass
class ManyOptions:
    manifest: Path
    output: Path
    jobs: int = 1
    force: bool = False
    timeout_s: float | None = None
    ray: RayOptions | None = None  # None: local processes


@dataclass
class ManyOutcome:
    summary: Summary
    output: Path

    @property
    def passed(self) -> bool:
        return self.summary.passed


def plan(entries: list[ModelEntry], options: ManyOptions, table: dict[str, OptionSpec]) -> list[ConvertTask]:
    """One ConvertTask per entry, writing OUTDIR/NAME (refused up front if it exists, unless --force)."""
    output = options.output.resolve()
    if output.exists() and not output.is_dir():
        raise UsageError(f"-o {options.output} is a file, not a directory")
    clashes = [e.name for e in entries if (output / e.name).exists()]
    if clashes and not options.force:
        raise UsageError(f"{output} already holds {', '.join(clashes)}: pass --force to replace them, "
                         "or another -o")
    try:
        (output / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create -o {options.output}: {exc.strerror or exc}") from exc
    base = str(options.manifest.resolve().parent)
    return [ConvertTask(name=e.name, model=e.model, args=e.argv(table), base_dir=base, output=str(output / e.name),
                        log=str(output / "logs" / f"{e.name}.log"), force=options.force, timeout_s=options.timeout_s)
            for e in entries]


def run_many(tasks: list[ConvertTask], options: ManyOptions, on_line: Callable[[str], None] = lambda line: None
             ) -> ManyOutcome:
    """Run every task; whatever happens (failures, Ctrl-C), the summary covers every model."""
    engine = f"ray ({options.ray.address})" if options.ray else "local processes"
    progress = Progress(total=len(tasks), jobs=options.jobs)
    on_line(f"converting {len(tasks)} model(s), {options.jobs} at a time on {engine}; "
            f"logs in {Path(tasks[0].log).parent}")

    def on_start(task: ConvertTask) -> None:
        on_line(f"[start] {task.name} ({task.model})")

    results = (run_ray(tasks, options.jobs, options.ray, on_start) if options.ray
               else run_local(tasks, options.jobs, on_start))
    meta = {"manifest": str(options.manifest), "engine": engine, "jobs": options.jobs,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    output = Path(tasks[0].output).parent
    try:
        for result in results:
            on_line(progress.add(result))
    finally:  # also on Ctrl-C: the summary says which models never finished
        order = [t.name for t in tasks]
        finished = sorted(progress.finished, key=lambda r: order.index(r.name))  # manifest order, not finish order
        not_run = [(t.name, t.model) for t in tasks if t.name not in {r.name for r in finished}]
        summary = write_summary(output, finished, not_run, {**meta, "seconds": round(progress.elapsed(), 1)})
    return ManyOutcome(summary=summary, output=output)
