"""Smells stage: Dockerfile smells by hadolint and by mldock's own rules, per category.

``mldock smells`` reads parse's corrected-mode tables (``dockerfiles``, ``instructions``,
``base_images``), ingest's ``files`` (where each file's raw copy is) and classify's
``projects`` (the categories), and writes under ``data/processed/``: ``smells`` (one row
per finding), ``smell_files`` (per Dockerfile: hadolint's status, counts per family),
``smell_densities`` (per repository and family), ``smell_tests`` (Kruskal-Wallis
across categories), ``smell_top`` (the figure's rules per category) and ``release_smells``
(hadolint over the per-release corpus evolution lists, :mod:`.releases`), plus
``reports/smells.md``.  hadolint runs once per distinct content (:mod:`.hadolint`, cached
under ``data/cache/hadolint``); our rules are
``taxonomy/smells.yaml``, evaluated by :mod:`pipeline.core.smells`.  Files hadolint cannot
parse are ``unparseable`` (never 0 smells); a file that cannot be read or linted is a row
of ``data/interim/smells_errors.csv``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..core import smells as core
from ..errors import StageInputMissing
from ..executor import Scheduler
from ..outputs import writes_set
from ..progress import Progress, no_progress
from ..tables import (
    ErrorLog,
    atomic_write_text,
    fingerprint_unchanged,
    raw_copy,
    read_table,
    repo_categories,
    write_table,
)
from ..taxonomy import load_smell_rules
from . import frames as F
from . import hadolint as H
from . import releases
from .markdown import render

log = logging.getLogger(__name__)

STAGE = "smells"
OUTPUT_TABLES = ("smells", "smell_files", "smell_densities", "smell_tests", "smell_top",
                 "release_smells")
INPUT_TABLES = ("files", "dockerfiles", "instructions", "base_images", "projects",
                "dockerfile_versions")
CONFIG = "hadolint.yaml"
"""The hadolint configuration of the stage, in taxonomy/."""


def _fingerprint(p: Paths, hadolint_version: str) -> str:
    h = hashlib.sha256(hadolint_version.encode())
    for name in INPUT_TABLES:
        t = p.table("interim" if name == "files" else "processed", name)
        if t.exists():
            h.update(t.read_bytes())
    for f in (p.taxonomy / "smells.yaml", p.taxonomy / CONFIG, Path(core.__file__),
              *sorted(Path(__file__).parent.glob("*.py"))):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _unchanged(p: Paths, fp: str) -> bool:
    outputs = [*(p.table("processed", t) for t in OUTPUT_TABLES), p.reports / "smells.md"]
    return fingerprint_unchanged(p.table("processed", "smells"), fp, outputs)


def dockerfiles(p: Paths) -> pd.DataFrame:
    """The Dockerfiles parse read in corrected mode with their raw copy (``raw_path``)."""
    d = read_table("dockerfiles", p)
    d = d[d["mode"] == "corrected"][["repo", "path", "n_instructions"]]
    files = read_table("files", p)[["repo", "path", "raw_path", "name_escaped"]]
    return d.merge(files, on=["repo", "path"], how="left").reset_index(drop=True)


def read_contents(p: Paths, df: pd.DataFrame, errors: ErrorLog
                  ) -> tuple[pd.DataFrame, dict[str, Path]]:
    """``df`` with the ``sha256`` of each file's bytes (files that cannot be read are
    dropped, with an error row) and one path per distinct content."""
    shas: list[str | None] = []
    first: dict[str, Path] = {}
    for r in df.itertuples(index=False):
        src = raw_copy(p, str(r.raw_path), bool(r.name_escaped))
        try:
            data = src.read_bytes()
        except (OSError, TypeError) as exc:
            errors.add(f"{r.repo}/{r.path}", exc, f"cannot read the raw copy {src}: {exc}")
            shas.append(None)
            continue
        sha = hashlib.sha256(data).hexdigest()
        first.setdefault(sha, src)
        shas.append(sha)
    out = df.assign(sha256=shas)
    return out[out["sha256"].notna()].reset_index(drop=True), first


def _projects(p: Paths) -> pd.DataFrame | None:
    """classify's categories; without them (classify not run) ingest's labels are used."""
    try:
        return read_table("projects", p)
    except StageInputMissing:
        log.info("smells: no projects table; categories from ingest's labels (run mldock classify)")
        return None


def _apply_hadolint(files: pd.DataFrame, linted: H.Linted, rows: list[dict[str, Any]],
                    errors: ErrorLog) -> pd.DataFrame:
    """``files`` with hadolint's status per file; its findings appended to ``rows``."""
    status, problem = [], []
    for r in files.itertuples(index=False):
        found = linted.findings.get(r.sha256)
        if found is None:
            msg = linted.failed.get(r.sha256, "hadolint gave no result")
            errors.add(f"{r.repo}/{r.path}", "HadolintFailed", msg)
            status.append("failed")
            problem.append(msg)
            continue
        bad = H.unparseable(found)
        status.append("unparseable" if bad else "ok")
        problem.append(bad or "")
        if not bad:
            rows.extend(F.hadolint_rows(r.repo, r.path, list(H.iter_rows(found))))
    return files.assign(hadolint_status=status, hadolint_error=problem)


@writes_set("smells")
def run(p: Paths, progress: Progress = no_progress, workers: int = 2, batch: int = 64,
        force: bool = False, sched: Scheduler | None = None) -> dict[str, Any]:
    """Run the stage; returns counts (files, distinct contents, hadolint calls, smells).

    hadolint's batches run on ``sched`` (default: a process pool of ``workers``)."""
    rules = load_smell_rules(p.taxonomy)  # fail fast with a clear message
    exe = H.executable()
    version = H.version(exe)
    fp = _fingerprint(p, version)
    if not force and _unchanged(p, fp):
        log.info("smells: inputs unchanged; nothing to do (use --force to rerun)")
        return {"files": 0, "skipped": 1}
    errors = ErrorLog(STAGE)
    files, contents = read_contents(p, dockerfiles(p), errors)
    cache = H.Cache.for_run(p.cache, version, p.taxonomy / CONFIG)
    linted = H.lint(sorted(contents.items()), exe, p.taxonomy / CONFIG, cache, batch, workers,
                    progress, sched)
    rel, rel_linted = releases.lint_corpus(p, exe, p.taxonomy / CONFIG, cache, errors, batch,
                                           workers, progress, sched)
    facts = F.facts_by_file(read_table("instructions", p), read_table("base_images", p))
    rows = F.mldock_rows(files, facts, rules)
    files = _apply_hadolint(files, linted, rows, errors)
    smells = F.smells_frame(rows)
    sf = F.file_frame(files, smells)
    cats = repo_categories(read_table("repos", p), _projects(p))
    dens = F.densities(sf, cats)
    tests = F.tests(dens)
    top = F.top_rules(smells, sf, cats)
    meta = {"hadolint_version": version, "hadolint_config": f"taxonomy/{CONFIG}",
            "distinct_contents": len(contents)}
    for name, frame in (("smell_files", sf), ("smell_densities", dens), ("smell_tests", tests),
                        ("smell_top", top), ("release_smells", rel)):
        write_table(frame, name, p, extra_meta=meta)
    atomic_write_text(p.reports / "smells.md",
                      render(smells, sf, dens, tests, top[top["rank"] <= 5], rules,
                             version, rel))
    # last, with the fingerprint: a run killed before this point is not taken as done
    write_table(smells, "smells", p, extra_meta={**meta, "inputs_fingerprint": fp})
    errors.write(p)
    counts = {"files": len(files), "distinct": len(contents),
              "hadolint_calls": linted.calls + rel_linted.calls,
              "linted": linted.linted, "unparseable": int((sf["hadolint_status"] == "unparseable").sum()),
              "failed": int((sf["hadolint_status"] == "failed").sum()), "smells": len(smells),
              "release_contents": len(rel_linted.findings) + len(rel_linted.failed),
              "release_linted": rel_linted.linted,
              "errors": len(errors)}
    log.info("smells: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
