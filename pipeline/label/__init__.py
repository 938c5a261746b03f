"""Label stage: a local page to label repositories by hand, and the agreement between raters.

``mldock label --rater ID`` serves the queue of :mod:`.cards` on 127.0.0.1
(:mod:`.server`, :mod:`.page`) and saves every choice at once to ``data/labels/<ID>.csv``
(:mod:`.store`).  ``mldock label agreement`` computes Cohen's kappa and Krippendorff's alpha
over those files and against the study's labels (:mod:`.agreement`), writing the tables
``label_agreement`` and ``label_confusion`` and ``reports/labelling.md``.  The stage reads
only tables: repos, projects, base_images, run_commands, compose_services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..config import Paths
from ..outputs import writes_set
from ..progress import Progress, no_progress
from ..tables import ErrorLog, atomic_write_text, read_table, write_table
from ..taxonomy import load_categories
from . import agreement as agree
from .cards import load_cards
from .server import Session, serve
from .store import LabelStore, labels_dir

log = logging.getLogger(__name__)

STAGE = "label"
REPORT = "labelling.md"


def categories(p: Paths) -> tuple[str, ...]:
    return tuple(load_categories(p.taxonomy / "categories.yaml").ids)


def session(p: Paths, rater: str) -> Session:
    """The queue and the rater's store, ready to serve."""
    store = LabelStore(p, rater)
    cards, pairs = load_cards(p)
    differ = int((~pairs["same"].astype(bool)).sum()) if len(pairs) else 0
    log.info("label: %d repositories; %d flagged needs_review; %d near-duplicate pairs, %d with "
             "different study labels; %d already labelled by %s", len(cards),
             sum(c["needs_review"] for c in cards), len(pairs), differ, len(store.rows), rater)
    return Session(cards, categories(p), store)


def run_server(p: Paths, rater: str, port: int = 0,
               ready: Callable[[str], Any] | None = None) -> None:
    """Serve the labelling page for ``rater`` until interrupted."""
    serve(session(p, rater), port, ready)


@writes_set(STAGE)
def run_agreement(p: Paths, progress: Progress = no_progress) -> dict[str, Any]:
    """Agreement over ``data/labels/*.csv``: tables, report; returns the figures."""
    cats = categories(p)
    errors = ErrorLog(STAGE)
    raters = agree.read_all(p, labels_dir(p), cats, errors, progress)
    if not raters:
        log.warning("label agreement: no labels in %s; label with `mldock label --rater ID`",
                    labels_dir(p))
    repos = read_table("repos", p)
    manual = repos[repos["label_source"].fillna("") == "manual"]
    study = manual.set_index("repo")["category"].astype(str)
    table = agree.agreement_frame(raters, study, cats)
    confusion = agree.confusion_frame(raters, study, cats)
    write_table(table, "label_agreement", p)
    write_table(confusion, "label_confusion", p)
    errors.write(p)
    report = agree.markdown(table, confusion, cats, {r: len(s) for r, s in raters.items()})
    atomic_write_text(p.reports / REPORT, report)
    return {"raters": len(raters), "errors": len(errors),
            **{f"{r.measure}:{r.rater_a}~{r.rater_b}": r.value for r in table.itertuples()}}
