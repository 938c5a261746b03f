"""Draw every artefact under ``reports/figures`` and ``reports/tables``."""

from __future__ import annotations

import logging
from pathlib import Path

from ..progress import Progress, no_progress, track
from . import artefacts as A
from .figures import draw, save_figure
from .inputs import MODES, SKIPPED, Inputs
from .markdown import save_table

log = logging.getLogger(__name__)


def save(art: A.Artefact, out: Path) -> None:
    """Write an artefact's figure (PNG + PDF) and table (CSV + Markdown)."""
    if art.figure is not None:
        save_figure(draw(art.figure), art.stem, out / "figures")
    if art.table is not None:
        save_table(art.table, art.stem, out / "tables")


def draw_all(inp: Inputs, out: Path | None = None, modes: tuple[str, ...] = MODES,
             progress: Progress = no_progress) -> dict[str, str]:
    """Draw every table and figure; returns ``stem -> "ok" | "skipped: <reason>"``.

    Only a missing input skips an artefact; any other error propagates."""
    out = out or inp.paths.reports
    jobs: list[tuple[str, A.ArtefactFn, str | None]] = [(fn.name, fn, None) for fn in A.SHARED]
    jobs += [(f"{fn.name}_{mode}", fn, mode) for mode in modes for fn in A.PER_MODE]
    done: dict[str, str] = {}
    for stem, fn, mode in track(jobs, progress, "report: figures and tables", len(jobs),
                                "artefact"):
        try:
            save(fn(inp, mode), out)
            done[stem] = "ok"
        except SKIPPED as exc:
            done[stem] = f"skipped: {exc}"
            log.info("%s skipped: %s", stem, exc)
    return done

