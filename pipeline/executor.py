"""One seam for the stages' parallel work: map a pure function over partitions of items.

:func:`map_partitions` cuts a sequence of work items (paths, archive members: never file
contents) into partitions of ``partition_size`` items, runs ``fn(partition)`` on each --
in this process, in a local process pool (the default), or on Dask distributed -- and
yields the per-item results **in item order**, so the stage's output does not depend on
the scheduler, the worker count or the partition size.  ``fn`` returns one result per
item of its partition; at most a few partitions per worker are in flight at a time, so
the caller's memory does not grow with the corpus.

A partition that raises is retried ``retries`` times; if it still fails, each of its items
runs alone and an item that fails on its own (a "poisoned" file) becomes
``poisoned(item, exc)`` -- an error row -- instead of failing the stage.  The exception's
text differs across schedulers (``BrokenProcessPool`` in the pool, ``KilledWorker`` with a
task name and a worker address on Dask), so it goes to the log only; the error rows use
:func:`failure_code` and :func:`failure_text`, the same whatever the scheduler.

The scheduler (:func:`scheduler`) is ``None``/``"pool"`` (the local process pool),
``"local"``/``"local:N"`` (a Dask ``LocalCluster`` of N one-thread worker processes that
mldock starts and stops), or ``"tcp://host:port"`` (an existing Dask scheduler); the
environment variable ``MLDOCK_SCHEDULER`` gives the default.  Dask is the optional extra
``mldock[dask]``.  A Dask cluster that has no worker left stops the stage with a
:class:`SchedulerError` (mldock's own LocalCluster, after :data:`NO_WORKER_GRACE` seconds)
instead of waiting for ever.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import pickle
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import SchedulerError
from .progress import Progress, no_progress

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_ENV = "MLDOCK_SCHEDULER"
DEFAULT_PARTITION = 1000
# how long a Dask cluster may have no worker before mldock stops waiting (its own
# LocalCluster) or says so (a running cluster), and how often it looks
NO_WORKER_GRACE = 120.0
_POLL = 5.0
INSTALL_DASK = "--scheduler needs Dask: pip install 'mldock[dask]' (or `make setup` in a checkout)"


@dataclass(frozen=True)
class Scheduler:
    """Where partitions run: ``kind`` is ``pool``, ``local`` (LocalCluster) or ``address``."""

    kind: str = "pool"
    workers: int = 2
    address: str = ""

    def describe(self) -> str:
        if self.kind == "pool":
            return f"process pool of {self.workers}" if self.workers > 1 else "this process"
        if self.kind == "local":
            return f"Dask LocalCluster of {self.workers}"
        return f"Dask scheduler {self.address}"


def scheduler(spec: str | None = None, workers: int = 2, workers_given: bool = False) -> Scheduler:
    """The :class:`Scheduler` for a ``--scheduler`` value (else ``$MLDOCK_SCHEDULER``);
    ``workers_given``: the user set ``--jobs``, which a running cluster ignores (said once)."""
    spec = (spec or os.environ.get(SCHEDULER_ENV) or "").strip()
    if spec in ("", "pool"):
        return Scheduler("pool", max(1, workers))
    if spec == "local" or spec.startswith("local:"):
        n = spec.partition(":")[2]
        if n and not (n.isdigit() and int(n) > 0):
            raise SchedulerError(f"--scheduler {spec}: N in local:N must be a positive integer")
        _need_dask()
        return Scheduler("local", int(n) if n else max(1, workers))
    if "://" in spec:
        _need_dask()
        if workers_given:
            log.warning("--jobs is ignored with --scheduler %s: the cluster's workers do the work",
                        spec)
        return Scheduler("address", max(1, workers), spec)
    raise SchedulerError(f"--scheduler {spec!r}: use pool, local, local:N or tcp://host:port")


# what a worker that died under an item (os._exit, a segfault, the OOM killer) raises:
# the pool's BrokenProcessPool, Dask's distributed.scheduler.KilledWorker
_WORKER_DEATHS = frozenset({"BrokenProcessPool", "KilledWorker"})


def failure_code(exc: BaseException) -> str:
    """The error type of an item that failed alone: ``WorkerFailed`` when it stopped its
    worker, else the exception's type name (both the same on every scheduler)."""
    name = type(exc).__name__
    return "WorkerFailed" if name in _WORKER_DEATHS else name


def failure_text(exc: BaseException, what: str = "item") -> str:
    """A one-line, scheduler-independent message for an item that failed alone."""
    code = failure_code(exc)
    if code == "WorkerFailed":
        return f"the {what} stopped its worker (WorkerFailed)"
    return f"the {what} failed in its worker ({code})"


def _need_dask() -> None:
    """Fail when the scheduler is chosen (not after the stage has read its inputs)."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise SchedulerError(INSTALL_DASK) from exc


class _Pool:
    """A process pool that is rebuilt when a worker dies (BrokenProcessPool)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.ex = ProcessPoolExecutor(workers)

    def submit(self, fn: Callable[..., Any], part: list[Any]) -> Any:
        try:
            return self.ex.submit(fn, part)
        except BrokenProcessPool:
            self.ex.shutdown(cancel_futures=True)
            self.ex = ProcessPoolExecutor(self.workers)
            return self.ex.submit(fn, part)

    def close(self) -> None:
        self.ex.shutdown(cancel_futures=True)


class _Inline:
    """Runs partitions in this process (one worker)."""

    class _Done:
        def __init__(self, fn: Callable[..., Any], part: list[Any]) -> None:
            self.fn, self.part = fn, part

        def result(self) -> Any:
            return self.fn(self.part)

    workers = 1

    def submit(self, fn: Callable[..., Any], part: list[Any]) -> Any:
        return self._Done(fn, part)

    def close(self) -> None:
        pass


class _Dask:
    """A ``distributed.Client``: on a LocalCluster it owns, or on a running scheduler."""

    def __init__(self, sched: Scheduler, retries: int) -> None:
        self.retries = retries  # Dask retries a failed task itself
        try:
            from distributed import Client
        except ImportError as exc:
            raise SchedulerError(INSTALL_DASK) from exc
        self.cluster: Any = None
        self._config = contextlib.ExitStack()  # Dask settings held until close()
        if sched.kind == "local":
            with contextlib.ExitStack() as config:
                config.enter_context(_keep_lost_workers())
                self.cluster = _local_cluster(sched.workers)
                self.client = Client(self.cluster)
                self._config = config.pop_all()
        else:
            try:
                self.client = Client(sched.address, timeout=30)
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(f"--scheduler {sched.address}: cannot connect ({exc})") from exc
        n = len(self.client.scheduler_info().get("workers", {}))
        self.workers = max(1, n or sched.workers)
        self._empty_since: float | None = None

    def submit(self, fn: Callable[..., Any], part: list[Any]) -> Any:
        future = self.client.submit(_packed, fn, part, pure=False, retries=self.retries)
        return _Unpack(future, self)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self._config.close()

    def workerless_for(self) -> float:
        """Seconds since the cluster was first seen without a worker (0 while it has one)."""
        now = time.monotonic()
        if self.client.nthreads():
            self._empty_since = None
            return 0.0
        since = self._empty_since = self._empty_since or now
        return now - since

    def check_workers(self) -> None:
        """Fail when a cluster mldock started has had no worker for :data:`NO_WORKER_GRACE`
        seconds (its nannies gave up: waiting would hang); say so on a running cluster,
        whose workers may still be queued by its batch system."""
        gone = self.workerless_for()
        if gone < NO_WORKER_GRACE:
            return
        if self.cluster is not None:
            raise SchedulerError(f"the Dask LocalCluster has had no worker for {gone:.0f} s "
                                 "(its worker processes could not be restarted); "
                                 "rerun the stage, or use --scheduler pool")
        log.warning("the Dask scheduler has had no worker for %.0f s; waiting for one", gone)
        self._empty_since = None  # said again after another grace


def _keep_lost_workers() -> Any:
    """Dask's config, set until :meth:`_Dask.close`, so that the LocalCluster never closes
    a worker's nanny: it does so ``lost-worker-timeout`` after any earlier loss of that
    worker if the worker is away at that moment -- restarting after another file killed it
    -- and a LocalCluster without workers waits for ever."""
    import dask

    return dask.config.set({"distributed.deploy.lost-worker-timeout": "3650 days"})


def _local_cluster(workers: int) -> Any:
    """A LocalCluster of one-thread worker processes, without the dashboard and without the
    workers' statistical profiler (which only the dashboard shows, and whose history grows
    with the run's length)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


def _packed(fn: Callable[[list[Any]], list[Any]], part: list[Any]) -> bytes:
    """``fn(part)`` pickled into one bytes object: distributed sends bytes as they are,
    where it would walk a list of dicts of rows object by object (many times slower)."""
    return pickle.dumps(fn(part), protocol=pickle.HIGHEST_PROTOCOL)


class _Unpack:
    """A Dask future of :func:`_packed`, whose ``result()`` is ``fn(part)`` again."""

    def __init__(self, future: Any, owner: _Dask) -> None:
        self.future, self.owner = future, owner

    def result(self) -> Any:
        while True:
            try:
                return pickle.loads(self.future.result(timeout=_POLL))
            except TimeoutError:
                self.owner.check_workers()


def _backend(sched: Scheduler, retries: int) -> _Pool | _Inline | _Dask:
    if sched.kind == "pool":
        return _Pool(sched.workers) if sched.workers > 1 else _Inline()
    return _Dask(sched, retries)


@dataclass
class _Task(Generic[T]):
    index: int
    part: list[T]
    future: Any
    attempt: int = 0


def map_partitions(fn: Callable[[list[T]], list[R]], items: Sequence[T], *,
                   sched: Scheduler | None = None, partition_size: int = DEFAULT_PARTITION,
                   retries: int = 2, poisoned: Callable[[T, BaseException], R] | None = None,
                   progress: Progress = no_progress, desc: str = "work", unit: str = "item",
                   ) -> Iterator[R]:
    """``fn`` over partitions of ``items``; yields one result per item, in item order.

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one)
    and pure: it reads its items' inputs itself and returns ``len(partition)`` results.
    """
    sched = sched or Scheduler()
    size = max(1, partition_size)
    n_parts = -(-len(items) // size)

    def part(k: int) -> list[T]:  # cut when submitted: a range of a million stays a range
        return list(items[k * size:(k + 1) * size])

    bar = progress(desc, len(items), unit)
    backend = _backend(sched, retries)
    try:
        window = max(2, 2 * backend.workers)
        todo: deque[_Task[T]] = deque()
        nxt = 0
        for k in range(n_parts):
            while nxt < n_parts and len(todo) < window:
                chunk = part(nxt)
                todo.append(_Task(nxt, chunk, backend.submit(fn, chunk)))
                nxt += 1
            task = todo.popleft()
            assert task.index == k
            results = _result(backend, fn, task, retries, poisoned)
            bar.update(len(task.part))
            yield from results
    finally:
        bar.close()
        backend.close()


def _result(backend: Any, fn: Callable[[list[T]], list[R]], task: _Task[T], retries: int,
            poisoned: Callable[[T, BaseException], R] | None) -> list[R]:
    """The results of one partition: retried in a pool (Dask retries itself), then item by
    item, a failing item becoming ``poisoned(item, exc)``."""
    while True:
        try:
            out = task.future.result()
            if len(out) != len(task.part):
                raise RuntimeError(f"partition {task.index}: {len(out)} results "
                                   f"for {len(task.part)} items")
            return list(out)
        except SchedulerError:
            raise  # the cluster, not the partition: no retry, no error rows
        except Exception as exc:
            own_retries = not isinstance(backend, _Dask)
            if own_retries and task.attempt < retries:
                task.attempt += 1
                log.warning("partition %d failed (%s); retry %d of %d", task.index,
                            type(exc).__name__, task.attempt, retries)
                task.future = backend.submit(fn, task.part)
                continue
            if poisoned is None:
                raise
            log.warning("partition %d failed after %d retries; running its items one by one",
                        task.index, retries)
            return _one_by_one(backend, fn, task.part, poisoned)


def _one_by_one(backend: Any, fn: Callable[[list[T]], list[R]], part: list[T],
                poisoned: Callable[[T, BaseException], R]) -> list[R]:
    """Each item of ``part`` alone.  In the pool, on a fresh one-worker pool of their own:
    in the shared pool another partition that kills a worker would break the pool under
    an innocent item, which would become an error row.  (A Dask worker runs one task at a
    time, and Dask retries a task whose worker died under another.)"""
    if isinstance(backend, _Dask):
        single = copy.copy(backend)  # the same client, not closed here; alone: no retries
        single.retries = 0
        return [_alone(single, fn, item, poisoned) for item in part]
    if isinstance(backend, _Inline):
        return [_alone(backend, fn, item, poisoned) for item in part]
    alone = _Pool(1)
    try:
        return [_alone(alone, fn, item, poisoned) for item in part]
    finally:
        alone.close()


def _alone(backend: Any, fn: Callable[[list[T]], list[R]], item: T,
           poisoned: Callable[[T, BaseException], R]) -> R:
    try:
        out = backend.submit(fn, [item]).result()
        return out[0]  # type: ignore[no-any-return]
    except SchedulerError:
        raise
    except Exception as exc:
        log.warning("%r failed on its own: %s: %s", item, type(exc).__name__, exc)
        return poisoned(item, exc)
