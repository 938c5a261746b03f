"""The notebooks: what their first cell sets up (:class:`NotebookSession`) and the runner
that executes them headless into ``reports/notebooks`` (:func:`run_notebooks`)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..progress import Progress, no_progress, track
from ..tables import atomic_write_text
from .artefacts import Artefact
from .figures import draw, to_image
from .findings import finding
from .inputs import MODES, SKIPPED, load_inputs
from .ours import compute_ours
from .targets import load_spec, reproduction

log = logging.getLogger(__name__)

NOTEBOOKS = (
    "0-funnel.ipynb",
    "1-rq1-project-categories.ipynb",
    "2-rq2-purposes.ipynb",
    "3-rq3-dockerfiles.ipynb",
    "4-rq4-images.ipynb",
)


class NotebookSession:
    """What every notebook's first cell sets up: the inputs, read once, and the helpers
    ``show`` (draw an artefact or say what is missing), ``findings`` and ``targets``.

    The project root is ``$MLDOCK_HOME`` when set (:func:`run_notebooks` sets it), else
    the checkout (:func:`pipeline.config.paths`).
    """

    TARGET_COLUMNS = ["target", "paper_value", "ours_paper", "ours_corrected", "status_paper",
                      "status_corrected", "labels"]
    modes = MODES

    def __init__(self, p: Paths | None = None) -> None:
        from ..config import paths

        self.paths = p or paths()
        self.inputs = load_inputs(self.paths)
        self._rep: pd.DataFrame | None = None

    def describe(self) -> None:
        """Print the project root and which input tables are available."""
        available = {k: v is not None for k, v in self.inputs.tables.items()}
        print("project root:", self.paths.root)
        print("tables available:", ", ".join(k for k, ok in available.items() if ok))
        print("tables missing:", ", ".join(k for k, ok in available.items() if not ok) or "none")

    def show(self, build: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Show an artefact (its figure, else its table), or say which input is missing.

        ``build(*args, **kw)`` is usually an artefact function, e.g.
        ``show(A.figure_3a, inp, "paper")``; a figure or frame is shown as it is.
        Returns what was shown."""
        from IPython.display import Markdown, display

        try:
            out = build(*args, **kw)
        except SKIPPED as exc:
            display(Markdown(f"*Not drawn: {exc}.*"))
            return None
        if isinstance(out, Artefact):  # show, and return, its figure or its table
            out = draw(out.figure) if out.figure is not None else out.table
        display(to_image(out) if hasattr(out, "savefig") else out)
        return out

    def findings(self, *names: str) -> None:
        """The finding computed from our tables for each named figure or table."""
        from IPython.display import Markdown, display

        for name in names:
            display(Markdown(f"**Finding ({name}):** {finding(self.inputs, name)}"))

    def targets(self, section: str) -> pd.DataFrame | None:
        """Our values beside the paper's for one section of paper_targets.json."""
        from IPython.display import Markdown, display

        if self._rep is None:
            try:
                spec = load_spec(self.paths)
            except Exception as exc:  # the targets file is optional for a notebook
                display(Markdown(f"*paper_targets.json not found ({exc}).*"))
                return None
            self._rep = reproduction(spec, compute_ours(self.inputs, spec))
        rep = self._rep[self._rep["section"] == section]
        display(rep[self.TARGET_COLUMNS].reset_index(drop=True))
        return rep


def run_notebooks(p: Paths, names: tuple[str, ...] = NOTEBOOKS, timeout: int = 600,
                  out: Path | None = None, workers: int = 2,
                  progress: Progress = no_progress) -> dict[str, str]:
    """Execute the notebooks headless (kernel python3, ``workers`` at a time) with
    MLDOCK_HOME = the project root; each is written to ``out`` as it was executed."""
    out = out or p.reports / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, str] = {}
    todo = []
    for name in names:
        if (p.notebooks / name).exists():
            todo.append(name)
        else:
            result[name] = "missing"
            log.warning("notebook %s missing", p.notebooks / name)
    env = {"MLDOCK_HOME": str(p.root), "MPLBACKEND": os.environ.get("MPLBACKEND", "Agg")}
    jobs = [(str(p.notebooks / n), str(out / n), timeout, env) for n in todo]
    if workers <= 1 or len(jobs) <= 1:
        runs = map(_execute, jobs)
        for name, status in track(zip(todo, runs, strict=True), progress, "report: notebooks",
                                  len(todo), "notebook"):
            result[name] = status
    else:
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as ex:
            for name, status in track(zip(todo, ex.map(_execute, jobs), strict=True), progress,
                                      "report: notebooks", len(todo), "notebook"):
                result[name] = status
    for name, status in result.items():
        if status.startswith("failed"):
            log.error("notebook %s %s", name, status)
    return {n: result[n] for n in names}


def _execute(job: tuple[str, str, int, dict[str, str]]) -> str:
    """Execute one notebook (in a worker process); ``ok`` or ``failed: <last line>``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    src, dst, timeout, env = job
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    nb = nbformat.read(src, as_version=4)
    # run beside the notebook (not in the root: a root's pipeline/ may shadow ours)
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(Path(src).parent)}})
    try:
        client.execute()
        status = "ok"
    except CellExecutionError as exc:
        last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).strip().splitlines()[-1])
        status = f"failed: {last[:200]}"
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    atomic_write_text(Path(dst), nbformat.writes(nb))
    return status

