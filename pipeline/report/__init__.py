"""``mldock report``: the paper's tables and figures, the notebooks, the reproduction report.

Reads only ``data/interim`` and ``data/processed`` (and ``taxonomy/``, ``targets/``);
never the network.

* :mod:`.inputs`: the tables, read once (:class:`~.inputs.Inputs`);
* :mod:`.artefacts`: one function per table/figure of the paper, memoised per run;
* :mod:`.figures` (drawing), :mod:`.draw` (every artefact to ``reports/``);
* :mod:`.ours` (our value per target section), :mod:`.targets` (walk, compare, status),
  :mod:`.sections` (``targets/sections.yaml``);
* :mod:`.findings`, :mod:`.markdown` (``reproduction.md``), :mod:`.notebooks`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..errors import StageInputMissing
from ..outputs import staged, writes_set
from ..progress import Progress, no_progress
from ..tables import atomic_write_text, write_table
from .draw import FigurePool, write_artefacts
from .draw import draw_all as draw_all  # public: draw without the report
from .findings import findings
from .inputs import Inputs, load_inputs
from .markdown import as_text, render_markdown
from .notebooks import ReportSession, run_notebooks
from .ours import compute_ours as compute_ours  # public, as the tests use it
from .ours import reproduction_frame
from .targets import load_spec, status_counts
from .targets import reproduction as reproduction  # public

log = logging.getLogger(__name__)


def write_reproduction(inp: Inputs, spec: dict[str, Any], done: dict[str, str],
                       out: Path | None = None, rep: pd.DataFrame | None = None) -> pd.DataFrame:
    """``reproduction.csv`` and ``reproduction.md``; returns the reproduction frame."""
    out = out or inp.paths.reports
    rep = reproduction_frame(inp, spec) if rep is None else rep
    counts = status_counts(rep)
    out.mkdir(parents=True, exist_ok=True)
    write_table(as_text(rep), "reproduction", inp.paths, path=out / "reproduction.csv")
    atomic_write_text(out / "reproduction.md",
                      render_markdown(rep, counts, findings(inp, done), inp))
    log.info("reproduction: %s", counts.to_dict())
    return rep


def _write_unreproduced(inp: Inputs, done: dict[str, str], exc: StageInputMissing) -> None:
    """``reproduction.md`` without the targets file: why, and the figures drawn."""
    log.warning("no reproduction report: %s", exc)
    atomic_write_text(inp.paths.reports / "reproduction.md", "# Reproduction report\n\n"
                      f"Not written: {exc}.\n\n## Figures and tables\n\n" + "\n".join(
                          f"- **{k}**: {v}" for k, v in findings(inp, done)) + "\n")


@writes_set("report")
def run(p: Paths, progress: Progress = no_progress, notebooks: bool = True,
        targets: Path | None = None, workers: int = 2) -> dict[str, Any]:
    """Everything ``mldock report`` does; returns a summary.

    ``workers`` processes draw the figures while the notebooks execute (``workers``
    kernels at a time) on the report's artefacts, each figure shown once it is written.
    ``reproduction.md`` is written last, once every figure is: a failed figure leaves
    no report that looks complete."""
    with FigurePool(workers) as pool:
        inp = load_inputs(p)
        done = write_artefacts(inp, pool)
        try:
            spec: dict[str, Any] | None = load_spec(p, targets)
        except StageInputMissing as exc:
            spec, missing = None, exc
        rep = reproduction_frame(inp, spec) if spec is not None else None
        figures = staged(p.reports / "figures") or p.reports / "figures"  # this run's
        session = ReportSession(inp, rep, figures, pool.ready, set(pool.stems))
        nbs = (run_notebooks(p, workers=workers, progress=progress, session=session)
               if notebooks else {})
        pool.wait(progress)
    if spec is None or rep is None:
        _write_unreproduced(inp, done, missing)
        return {"drawn": done, "counts": None, "notebooks": nbs}
    write_reproduction(inp, spec, done, rep=rep)
    return {"drawn": done, "counts": status_counts(rep), "notebooks": nbs}
