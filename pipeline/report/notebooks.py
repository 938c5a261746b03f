"""The notebooks: what their first cell sets up (:class:`NotebookSession`) and the runner
that executes them headless into ``reports/notebooks`` (:func:`run_notebooks`).

When ``mldock report`` runs them, the kernels do not recompute: the report hands them a
:class:`ReportSession` (its inputs, memoised artefacts, reproduction frame and figures
folder; a pickle in a temporary folder named by ``$MLDOCK_REPORT_SESSION``) and a figure
is shown as the PNG the report wrote; opened by hand, a notebook reads the tables,
computes what it shows and draws its figures."""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..errors import StageInputMissing
from ..progress import Progress, no_progress, track
from ..tables import atomic_write_text
from .artefacts import Artefact
from .findings import finding
from .inputs import MODES, SKIPPED, Inputs, load_inputs
from .ours import reproduction_frame
from .targets import load_spec

log = logging.getLogger(__name__)

NOTEBOOKS = (
    "0-funnel.ipynb",
    "1-rq1-project-categories.ipynb",
    "2-rq2-purposes.ipynb",
    "3-rq3-dockerfiles.ipynb",
    "4-rq4-images.ipynb",
    "5-beyond-the-paper.ipynb",
)
SESSION_ENV = "MLDOCK_REPORT_SESSION"
"""Names the report's pickled session (set by :func:`run_notebooks` for the kernels)."""



@dataclass(frozen=True)
class ReportSession:
    """What ``mldock report`` hands the notebook kernels."""

    inputs: Inputs  # the artefacts memoised on inputs.memo
    reproduction: pd.DataFrame | None  # None: no targets file
    figures: Path | None = None  # the report's figures folder (``<stem>.png`` shown as is)
    ready: Path | None = None  # <stem>.done once the report wrote a figure (draw.FigurePool)
    drawn: set[str] = field(default_factory=set)  # the stems the report draws


def save_session(session: ReportSession, path: Path) -> Path:
    """Pickle the report's session for the notebook kernels (written and read by this
    project only, within one ``mldock report``)."""
    with path.open("wb") as fh:
        pickle.dump(session, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_session(path: Path) -> ReportSession:
    """The session :func:`save_session` wrote."""
    with path.open("rb") as fh:
        session: ReportSession = pickle.load(fh)
    return session


class NotebookSession:
    """What every notebook's first cell sets up: the inputs, read once, and the helpers
    ``show`` (draw an artefact or say what is missing), ``findings`` and ``targets``.

    The project root is ``$MLDOCK_HOME`` when set (:func:`run_notebooks` sets it), else
    the checkout (:func:`pipeline.config.paths`). With ``$MLDOCK_REPORT_SESSION`` set (and
    no ``p``), the inputs, artefacts and targets are the report's own (:func:`load_session`).
    """

    TARGET_COLUMNS = ["target", "paper_value", "ours_paper", "ours_corrected", "status_paper",
                      "status_corrected", "labels"]
    modes = MODES

    def __init__(self, p: Paths | None = None) -> None:
        from ..config import paths

        cached = os.environ.get(SESSION_ENV)
        self._rep: pd.DataFrame | None = None
        self._session: ReportSession | None = None
        if p is None and cached:
            self._session = load_session(Path(cached))
            self.inputs, self._rep = self._session.inputs, self._session.reproduction
            self.paths = self.inputs.paths
        else:
            self.paths = p or paths()
            self.inputs = load_inputs(self.paths)

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
        Returns the table shown; None for a figure (shown once, not again as the cell's
        result)."""
        from IPython.display import Markdown, display

        try:
            out = build(*args, **kw)
        except SKIPPED as exc:
            display(Markdown(f"*Not drawn: {exc}.*"))
            return None
        if isinstance(out, Artefact) and out.figure is not None:
            display(self.image(out))
            return None
        if isinstance(out, Artefact):
            out = out.table
        if hasattr(out, "savefig"):
            from .figures import to_image

            display(to_image(out))
            return None
        display(out)
        return out

    def image(self, art: Artefact) -> Any:
        """An artefact's figure as a PNG image: the file the report wrote when the report
        runs the notebook (``reports/figures/<stem>.png``, once written), else drawn here."""
        from IPython.display import Image

        from .figures import draw, to_image

        s = self._session
        if s is not None and s.figures is not None and art.stem in s.drawn:
            if s.ready is not None:
                wait_for_figure(s.ready, art.stem)
            return Image(filename=str(s.figures / f"{art.stem}.png"))
        assert art.figure is not None
        return to_image(draw(art.figure))

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
            except StageInputMissing as exc:  # the targets file is optional for a notebook
                display(Markdown(f"*paper_targets.json not found ({exc}).*"))
                return None
            self._rep = reproduction_frame(self.inputs, spec)
        rep = self._rep[self._rep["section"] == section]
        display(rep[self.TARGET_COLUMNS].reset_index(drop=True))
        return rep


def wait_for_figure(ready: Path, stem: str, timeout: float = 600) -> None:
    """Wait until the report has written the figure ``stem`` (``ready/<stem>.done``)."""
    deadline = time.monotonic() + timeout
    while not (ready / f"{stem}.done").exists():
        if (ready / "failed").exists():
            raise RuntimeError(f"the report failed to draw a figure; {stem} not shown")
        if time.monotonic() > deadline:
            raise TimeoutError(f"figure {stem} not written after {timeout:.0f} s")
        time.sleep(0.05)


def run_notebooks(p: Paths, names: tuple[str, ...] = NOTEBOOKS, timeout: int = 600,
                  out: Path | None = None, workers: int = 2,
                  progress: Progress = no_progress, session: ReportSession | None = None,
                  ) -> dict[str, str]:
    """Execute the notebooks headless (kernel python3, ``workers`` at a time) with
    MLDOCK_HOME = the project root; each is written to ``out`` as it was executed.
    ``session``: the report's inputs and reproduction frame, for the kernels to reuse."""
    if session is None:
        return _run_notebooks(p, names, timeout, out, workers, progress, {})
    with tempfile.TemporaryDirectory(prefix="mldock-report-") as tmp:
        f = save_session(session, Path(tmp) / "session.pickle")
        return _run_notebooks(p, names, timeout, out, workers, progress, {SESSION_ENV: str(f)})


def _run_notebooks(p: Paths, names: tuple[str, ...], timeout: int, out: Path | None,
                   workers: int, progress: Progress, extra_env: dict[str, str],
                   ) -> dict[str, str]:
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
    env = {"MLDOCK_HOME": str(p.root), "MPLBACKEND": os.environ.get("MPLBACKEND", "Agg"),
           **extra_env}
    jobs = [(str(p.notebooks / n), str(out / n), timeout, env) for n in todo]
    if workers <= 1 or len(jobs) <= 1:
        runs = map(_execute, jobs)
        for name, status in track(zip(todo, runs, strict=True), progress, "report: notebooks",
                                  len(todo), "notebook"):
            result[name] = status
    else:  # threads: each waits on its kernel, the process that does the work
        with ThreadPoolExecutor(min(workers, len(jobs))) as ex:
            for name, status in track(zip(todo, ex.map(_execute, jobs), strict=True), progress,
                                      "report: notebooks", len(todo), "notebook"):
                result[name] = status
    for name, status in result.items():
        if status.startswith("failed"):
            log.error("notebook %s %s", name, status)
    return {n: result[n] for n in names}


def _execute(job: tuple[str, str, int, dict[str, str]]) -> str:
    """Execute one notebook in a kernel with ``env`` added to this process's environment;
    ``ok`` or ``failed: <last line>``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    src, dst, timeout, env = job
    nb = nbformat.read(src, as_version=4)
    # run beside the notebook (not in the root: a root's pipeline/ may shadow ours)
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            shutdown_kernel="immediate",  # its outputs are all in
                            record_timing=False,  # no timestamps: a rerun gives the same bytes
                            resources={"metadata": {"path": str(Path(src).parent)}})
    try:
        client.execute(env={**os.environ, **env})
        status = "ok"
    except CellExecutionError as exc:
        last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).strip().splitlines()[-1])
        status = f"failed: {last[:200]}"
    atomic_write_text(Path(dst), nbformat.writes(nb))
    return status

