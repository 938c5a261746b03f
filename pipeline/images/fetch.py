"""Layer downloads and scans of the images stage through :mod:`pipeline.executor`.

Registry downloads are I/O-bound, the scans CPU-bound: :func:`scan_layers` maps
:func:`scan_partition` over the layers to scan -- partitions run in the executor's
processes (this process by default, a process pool, or Dask workers) and each partition
downloads and scans its layers in ``threads`` threads (inflating and hashing release the
GIL).  A :class:`RegistryLimit` bounds the concurrent blob requests to each registry:
cluster-wide through a ``distributed.Semaphore`` on Dask, per process otherwise (the
pool's processes share the limit out); and when one download hears a rate limit
(``Retry-After``, ``RateLimit-Remaining: 0`` with ``RateLimit-Reset``), every request to
that registry waits -- cluster-wide through the scheduler's metadata on Dask.

Results are :class:`~pipeline.images.layers.LayerScan` or :class:`ScanFailure` (an error
row, or a rate limit that stops the stage), in the order of the jobs.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.imageref import ImageRef
from ..errors import MldockError, RateLimited
from ..executor import Scheduler, failure_code, failure_text, map_partitions
from ..progress import Progress, no_progress
from .layers import DigestMismatch, LayerError, LayerScan, scan_layer
from .manifests import parse_reference

if TYPE_CHECKING:
    from .registry import RegistryClient

DEFAULT_THREADS = 4
DEFAULT_REQUESTS = 8  # concurrent blob requests per registry, over all workers

_lock = threading.Lock()
_semaphores: dict[tuple[str, int], Any] = {}
_paused: dict[str, float] = {}


@dataclass(frozen=True)
class RegistryLimit:
    """At most ``requests`` concurrent blob requests to each registry; a shared pause.

    ``dask``: the limit and the pause hold over the whole Dask cluster (a named
    ``distributed.Semaphore``; the pause in the scheduler's metadata); else in this process.
    """

    requests: int = DEFAULT_REQUESTS
    dask: bool = False

    def _semaphore(self, registry: str) -> Any:
        key = (registry, self.requests)
        with _lock:
            sem = _semaphores.get(key)
            if sem is None:
                if self.dask:
                    from distributed import Semaphore

                    # the limit in the name: a run with another --registry-limit on the same
                    # cluster gets its own semaphore (Dask refuses other max_leases for a name)
                    sem = Semaphore(max_leases=self.requests,
                                    name=f"mldock-registry-{registry}-{self.requests}")
                else:
                    sem = threading.BoundedSemaphore(self.requests)
                _semaphores[key] = sem
        return sem

    @contextlib.contextmanager
    def lease(self, registry: str) -> Iterator[None]:
        sem = self._semaphore(registry)
        sem.acquire()
        try:
            yield
        finally:
            sem.release()

    def pause(self, registry: str, until: float) -> None:
        """Every request to ``registry`` waits until ``until`` (epoch seconds)."""
        with _lock:
            _paused[registry] = max(until, _paused.get(registry, 0.0))
        client = _dask_client() if self.dask else None
        if client is not None and until > float(client.get_metadata(["mldock-pause", registry], 0.0)):
            client.set_metadata(["mldock-pause", registry], until)

    def paused_until(self, registry: str) -> float:
        """Until when requests to ``registry`` wait (epoch seconds; 0: they do not)."""
        with _lock:
            here = _paused.get(registry, 0.0)
        client = _dask_client() if self.dask else None
        if client is None:
            return here
        return max(here, float(client.get_metadata(["mldock-pause", registry], 0.0)))


def _dask_client() -> Any:
    """The Dask client of this worker (or of the process that started the cluster), or
    None outside Dask (the first pass of the images stage runs before the cluster)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def limit_for(sched: Scheduler, requests: int = DEFAULT_REQUESTS) -> RegistryLimit:
    """The limit for ``sched``: cluster-wide on Dask; the pool's processes share it out."""
    if sched.kind != "pool":
        return RegistryLimit(requests, dask=True)
    return RegistryLimit(max(1, requests // max(1, sched.workers)))


@dataclass(frozen=True)
class LayerJob:
    """One blob to scan: a reference of an image that has it, and its digest."""

    reference: str
    digest: str

    @property
    def key(self) -> tuple[str, str]:
        return (parse_reference(self.reference).registry, self.digest)


@dataclass(frozen=True)
class ScanFailure:
    """A layer that could not be scanned: its error-row ``code`` and ``message``."""

    code: str
    message: str
    rate_limited: bool = False

    def exception(self) -> Exception:
        """The exception the scan raised, again (what the stage records and acts on)."""
        exc: Exception
        if self.rate_limited:
            exc = RateLimited.__new__(RateLimited)
            Exception.__init__(exc, self.message)
            return exc
        exc = LayerError(self.message)
        exc.code = self.code  # type: ignore[attr-defined]
        return exc


def scan_blob(client: RegistryClient, ref: ImageRef, digest: str, max_bytes: int) -> LayerScan:
    """Stream blob ``digest`` (from the cache or the registry) through :func:`scan_layer`;
    a blob whose digest does not match is evicted from the cache."""
    lease = client.limit.lease(ref.registry) if client.limit else contextlib.nullcontext()
    try:
        with lease, client.open_blob(ref, digest) as stream:
            return scan_layer(stream, max_uncompressed=max_bytes, expected_digest=digest)
    except DigestMismatch:
        client.evict_blob(digest)  # a corrupt cache entry must not stick
        raise


def _scan_job(client: RegistryClient, max_bytes: int, job: LayerJob) -> LayerScan | ScanFailure:
    try:
        return scan_blob(client, parse_reference(job.reference), job.digest, max_bytes)
    except RateLimited as exc:
        return ScanFailure("RateLimited", str(exc), rate_limited=True)
    except (LayerError, MldockError, OSError) as exc:
        code = exc.code if isinstance(exc, LayerError) else type(exc).__name__
        return ScanFailure(code, str(exc))


def scan_partition(client: RegistryClient, max_bytes: int, threads: int,
                   jobs: list[LayerJob]) -> list[LayerScan | ScanFailure]:
    """The executor's function: the partition's layers, ``threads`` at a time, in order.

    On Dask the semaphores are made here, in the task's thread, and every download thread
    runs in a copy of the task's context: Dask finds its worker (and so the cluster-wide
    semaphore and pause) only through that context."""
    if threads <= 1 or len(jobs) <= 1:
        return [_scan_job(client, max_bytes, j) for j in jobs]
    if client.limit is not None:
        for registry in sorted({j.key[0] for j in jobs}):
            client.limit._semaphore(registry)
    with ThreadPoolExecutor(min(threads, len(jobs))) as ex:
        futures = [ex.submit(contextvars.copy_context().run, _scan_job, client, max_bytes, j)
                   for j in jobs]
        return [f.result() for f in futures]


def _poisoned(job: LayerJob, exc: BaseException) -> ScanFailure:
    return ScanFailure(failure_code(exc), f"{job.digest}: {failure_text(exc, 'layer')}")


def scan_layers(client: RegistryClient, jobs: Sequence[LayerJob], max_bytes: int, *,
                sched: Scheduler | None = None, threads: int = DEFAULT_THREADS,
                progress: Progress = no_progress) -> Iterator[LayerScan | ScanFailure]:
    """:func:`scan_partition` over ``jobs`` through the executor; results in job order.
    Without ``sched``, in this process (its threads download and scan).

    A partition holds ``threads`` layers, so every worker keeps its threads busy and at
    most a few partitions per worker are in flight.
    """
    fn = functools.partial(scan_partition, client, max_bytes, threads)
    return map_partitions(fn, jobs, sched=sched or Scheduler("pool", 1), partition_size=max(1, threads),
                          poisoned=_poisoned, progress=progress, desc="layers", unit="layer")


def wait_paused(limit: RegistryLimit | None, registry: str, max_wait: float,
                sleep: Any = time.sleep) -> float:
    """Seconds to wait before a request to ``registry`` (0 when not paused); waits them, or
    returns them unwaited when they exceed ``max_wait`` (the caller stops)."""
    if limit is None:
        return 0.0
    wait = limit.paused_until(registry) - time.time()
    if wait <= 0:
        return 0.0
    if wait <= max_wait:
        sleep(wait)
        return 0.0
    return wait
