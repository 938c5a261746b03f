"""Draw every artefact under ``reports/figures`` and ``reports/tables``.

The artefacts are computed in this process (they share :attr:`Inputs.memo`); the figures,
most of the report's time, are drawn and saved by ``workers`` processes, each file
written by one worker, the same bytes as one process would write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from ..progress import Progress, no_progress, track
from . import artefacts as A
from .figures import draw, save_figure
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
    for _ in track(draw_figures(figures, workers), progress, "report: figures",
                   len(figures), "figure"):
        pass
    return done


def draw_figures(figures: list[FigureJob], workers: int = 2) -> Iterator[str]:
    """Draw and save each figure (``workers`` processes when more than one); yields the
    stems in the order given, as they are done."""
    if workers <= 1 or len(figures) <= 1:
        yield from map(_draw_figure, figures)
        return
    # the largest first, so that two workers finish at about the same time
    order = sorted(range(len(figures)), key=lambda i: -_weight(figures[i][1]))
    with ProcessPoolExecutor(min(workers, len(figures)), mp_context=get_context("spawn")) as ex:
        futures = {i: ex.submit(_draw_figure, figures[i]) for i in order}
        for i in range(len(figures)):
            yield futures[i].result()


def _weight(spec: A.FigureSpec) -> int:
    """A rough drawing cost: the faceted figures (six panels) are the slow ones."""
    return 6 if spec.kind.startswith("category_") else 1


def _draw_figure(job: FigureJob) -> str:
    """Draw one figure and write its PNG and PDF (in a worker process); returns its stem."""
    stem, spec, folder = job
    save_figure(draw(spec), stem, folder)
    return stem
