"""Draw every artefact under ``reports/figures`` and ``reports/tables``.

The artefacts are computed in this process (they share :attr:`Inputs.memo`); the figures,
most of the report's time, are drawn and saved by ``workers`` processes, each file
written by one worker, the same bytes as one process would write.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
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
    figures: list[FigureJob] = []
    for stem, fn, mode in jobs:
        try:
            art = fn(inp, mode)
        except SKIPPED as exc:
            done[stem] = f"skipped: {exc}"
            log.info("%s skipped: %s", stem, exc)
            continue
        if art.table is not None:
            save_table(art.table, art.stem, out / "tables")
        if art.figure is not None:
            figures.append((art.stem, art.figure, out / "figures"))
        done[stem] = "ok"
    pool.submit(figures)
    return done


class FigurePool:
    """Draws and saves figures in ``workers`` processes (in this one when ``workers`` is 1).

    The workers start, and import matplotlib, when the pool is entered, so that they are
    ready when the artefacts are; :meth:`submit` hands them figures (the largest first),
    :meth:`wait` returns when all are written and raises a worker's error."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._ex: ProcessPoolExecutor | None = None
        self._jobs: list[FigureJob] = []
        self._futures: list[Future[str]] = []

    def __enter__(self) -> FigurePool:
        if self.workers > 1:
            self._ex = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            for _ in range(self.workers):  # one start-up job per worker
                self._ex.submit(_ready)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ex is not None:
            self._ex.shutdown(wait=True, cancel_futures=exc[0] is not None)

    def submit(self, figures: list[FigureJob]) -> None:
        if self._ex is None:
            self._jobs += figures
            return
        ex = self._ex
        futures = {id(job): ex.submit(_draw_figure, job)
                   for job in sorted(figures, key=lambda j: -_weight(j[1]))}
        self._futures += [futures[id(job)] for job in figures]

    def wait(self, progress: Progress = no_progress) -> list[str]:
        """Block until every submitted figure is written; their stems in submission order."""
        n = len(self._jobs) + len(self._futures)
        runs: Iterator[str] = itertools.chain(map(_draw_figure, self._jobs),
                                              (f.result() for f in self._futures))
        stems = list(track(runs, progress, "report: figures", n, "figure"))
        self._jobs, self._futures = [], []
        return stems


def _ready() -> None:
    """A worker's first job: import matplotlib (the report's own process never does)."""
    from . import figures  # noqa: F401


def _weight(spec: A.FigureSpec) -> int:
    """A rough drawing cost: the faceted figures (six panels) are the slow ones."""
    return 6 if spec.kind.startswith("category_") else 1


def _draw_figure(job: FigureJob) -> str:
    """Draw one figure and write its PNG and PDF (in a worker process); returns its stem."""
    from .figures import draw, save_figure

    stem, spec, folder = job
    save_figure(draw(spec), stem, folder)
    return stem
