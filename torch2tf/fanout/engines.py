"""Engines that run ConvertTasks: a local pool of processes, or Ray tasks on a cluster.

Both keep at most ``jobs`` conversions in flight and yield each ModelResult as it finishes, so a
failing model never stops the others and progress is reported as it happens.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from torch2tf.errors import UsageError
from torch2tf.fanout.tasks import ConvertTask, run_task, stop_all
from torch2tf.records import ModelResult
from torch2tf.stop import raise_if_stopped

AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")
LOCAL = "local"  # --ray with no address: start a Ray instance on this machine for this run


@dataclass
class RayOptions:
    address: str  # LOCAL, "auto", or "ray://host:10001"
    cpus_per_task: float = 1.0
    memory_gb_per_task: float | None = None
    retries: int = 1  # Ray re-runs a task whose worker died (OOM kill, lost node); a failed conversion is a verdict


def _in_flight(tasks: list[ConvertTask], jobs: int, running: dict, submit: Callable, wait: Callable,
               on_start: Callable[[ConvertTask], None] | None) -> Iterator[tuple[object, ConvertTask]]:
    """Submit tasks, at most ``jobs`` in ``running`` at once; yield (handle, task) as each one finishes."""
    pending = list(tasks)
    while pending or running:
        while pending and len(running) < jobs:
            raise_if_stopped()  # no new conversion after a stop request, even a swallowed one
            task = pending.pop(0)
            if on_start:
                on_start(task)
            running[submit(task)] = task
        for handle in wait(list(running)):
            yield handle, running.pop(handle)


def run_local(tasks: list[ConvertTask], jobs: int, on_start: Callable[[ConvertTask], None] | None = None
              ) -> Iterator[ModelResult]:
    """Each task in its own ``torch2tf convert`` process, ``jobs`` at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="convert") as pool:
        running: dict[concurrent.futures.Future, ConvertTask] = {}
        try:
            for future, _ in _in_flight(tasks, jobs, running, lambda task: pool.submit(run_task, task),
                                        lambda futures: concurrent.futures.wait(
                                            futures, return_when=concurrent.futures.FIRST_COMPLETED)[0], on_start):
                yield future.result()
        except BaseException:  # Ctrl-C / SIGTERM arrive in this thread: stop the children the workers wait on
            for future in running:
                future.cancel()
            stop_all()
            raise


def run_ray(tasks: list[ConvertTask], jobs: int, options: RayOptions,
            on_start: Callable[[ConvertTask], None] | None = None) -> Iterator[ModelResult]:
    """Each task as a Ray task (which runs the same ``torch2tf convert`` process on a worker)."""
    with _ray_session(options, jobs) as ray:
        remote = ray.remote(run_task).options(
            num_cpus=options.cpus_per_task, max_retries=options.retries, retry_exceptions=False,
            **({"memory": int(options.memory_gb_per_task * 2**30)} if options.memory_gb_per_task else {}))
        running: dict = {}
        try:
            for ref, task in _in_flight(tasks, jobs, running, remote.remote,
                                        lambda refs: ray.wait(refs, num_returns=1)[0], on_start):
                yield _ray_result(ray, ref, task)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=False)  # KeyboardInterrupt in the task: run_task stops its child
            raise


def _ray_result(ray, ref, task: ConvertTask) -> ModelResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker died more often than --retries allows, or could not run
        reason = f"Ray task failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        return ModelResult(name=task.name, model=task.model, verdict="failed", reason=reason[:300], seconds=0.0,
                           exit_code=None, output=None)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'torch2tf[ray]'") from None
    return ray


@contextlib.contextmanager
def _ray_session(options: RayOptions, jobs: int) -> Iterator:
    """Connect to the cluster, or start a local instance whose files live in a temp dir we remove."""
    temp_dir = None
    saved_env = {name: os.environ.get(name) for name in AUTH_VARIABLES}
    if options.address == LOCAL:
        # Token auth as Ray does by default, with a token held in memory rather than ~/.ray/auth_token.
        # Set before Ray is imported: it reads its configuration once.
        os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    ray = _import_ray()
    try:
        if options.address == LOCAL:
            temp_dir = tempfile.mkdtemp(prefix="t2t-ray-", dir=_short_temp_root())
            ray.init(num_cpus=max(jobs * options.cpus_per_task, 1), include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR", configure_logging=False, _temp_dir=temp_dir)
        else:
            ray.init(address=options.address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError, OSError) as exc:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        _restore(saved_env)
        raise UsageError(f"cannot start or reach Ray at {options.address}: {str(exc).splitlines()[0]}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        _restore(saved_env)


def _short_temp_root() -> str:
    """The temp dir, unless it is too deep for Ray's socket paths (AF_UNIX: 107 bytes, ~80 of them Ray's own)."""
    root = tempfile.gettempdir()
    return root if len(root) <= 24 or not os.access("/tmp", os.W_OK) else "/tmp"


def _restore(saved_env: dict[str, str | None]) -> None:
    for name, value in saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
