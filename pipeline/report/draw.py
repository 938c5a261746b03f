"""Draw every artefact under ``reports/figures`` and ``reports/tables``.

The artefacts are computed in this process (they share :attr:`Inputs.memo`); the figures,
most of the report's time, are drawn and saved by ``workers`` processes
(:class:`FigurePool`), each file written by one worker, the same bytes as one process
would write.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from ..progress import Progress, no_progress, track
from . import artefacts as A
from .inputs import MODES, SKIPPED, Inputs
from .markdown import save_table

log = logging.getLogger(__name__)

FigureJob = tuple[str, A.FigureSpec, Path]
"""(output stem, what to draw, the figures folder)."""


def draw_all(inp: Inputs, out: Path | None = None, modes: tuple[str, ...] = MODES,
             progress: Progress = no_progress, workers: int = 2) -> dict[str, str]:
    """Draw every table and figure; returns ``stem -> "ok" | "skipped: <reason>"``.

    Only a missing input skips an artefact; any other error propagates (from a drawing
    worker too)."""
    with FigurePool(workers) as pool:
        done = write_artefacts(inp, pool, out, modes)
        pool.wait(progress)
    return done


def write_artefacts(inp: Inputs, pool: FigurePool, out: Path | None = None,
                    modes: tuple[str, ...] = MODES) -> dict[str, str]:
    """Compute every artefact, write its table and hand its figure to ``pool``; returns
    ``stem -> "ok" | "skipped: <reason>"`` (the figures are drawn by :meth:`FigurePool.wait`)."""
    out = out or inp.paths.reports
    jobs: list[tuple[str, A.ArtefactFn, str | None]] = [(fn.name, fn, None) for fn in A.SHARED]
    jobs += [(f"{fn.name}_{mode}", fn, mode) for mode in modes for fn in A.PER_MODE]
    done: dict[str, str] = {}
    for stem, fn, mode in jobs:
        try:
            art = fn(inp, mode)
        except SKIPPED as exc:
            done[stem] = f"skipped: {exc}"
            log.info("%s skipped: %s", stem, exc)
            continue
        if art.table is not None:
            save_table(art.table, art.stem, out / "tables")
        if art.figure is not None:  # drawn while the next artefacts are computed
            pool.submit([(art.stem, art.figure, out / "figures")])
        done[stem] = "ok"
    return done


class FigurePool:
    """Draws and saves figures in ``workers`` processes.

    The workers start, and import matplotlib, when the pool is entered, so that they are
    ready when the artefacts are; :meth:`submit` hands them figures (drawn in that order),
    :meth:`wait` returns when all are written and raises a worker's error. While the pool
    is open, :attr:`ready` is a folder with ``<stem>.done`` for each figure written (and
    ``failed`` once one failed): the notebook kernels wait on it for the report's files."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, workers)
        self.ready = Path()
        self.stems: list[str] = []
        self._ex: ProcessPoolExecutor | None = None
        self._futures: list[Future[str]] = []

    def __enter__(self) -> FigurePool:
        self.ready = Path(tempfile.mkdtemp(prefix="mldock-figures-"))
        self._ex = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        for _ in range(self.workers):  # one start-up job per worker
            self._ex.submit(_ready)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ex is not None:
            self._ex.shutdown(wait=True, cancel_futures=exc[0] is not None)
        shutil.rmtree(self.ready, ignore_errors=True)

    def submit(self, figures: list[FigureJob]) -> None:
        assert self._ex is not None, "use the pool in a with block"
        for job in figures:
            f = self._ex.submit(_draw_figure, job)
            f.add_done_callback(self._signal)
            self._futures.append(f)
            self.stems.append(job[0])

    def _signal(self, f: Future[str]) -> None:
        """Mark a finished figure in :attr:`ready` (run by the pool's thread)."""
        name = "failed" if f.cancelled() or f.exception() is not None else f"{f.result()}.done"
        (self.ready / name).touch()

    def wait(self, progress: Progress = no_progress) -> list[str]:
        """Block until every submitted figure is written; their stems in submission order."""
        stems = list(track(map(self._written, self._futures), progress, "report: figures",
                           len(self._futures), "figure"))
        self._futures = []
        return stems

    def _written(self, f: Future[str]) -> str:
        """The stem of a finished figure, its marker written (a future's callbacks may run
        after ``result()`` returns; touching twice is harmless)."""
        stem = f.result()
        self._signal(f)
        return stem


def _ready() -> None:
    """A worker's first job: import matplotlib (the report's own process never does)."""
    from . import figures  # noqa: F401


def _draw_figure(job: FigureJob) -> str:
    """Draw one figure and write its PNG and PDF (in a worker process); returns its stem."""
    from ..tables import save_figure
    from .figures import draw

    stem, spec, folder = job
    save_figure(draw(spec), stem, folder)
    return stem
