"""``run(paths)``: the evolution stage end to end (see the package docstring)."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Paths
from ..core import dockerfile as df_core
from ..outputs import writes_set
from ..progress import Progress, no_progress
from ..tables import (
    ErrorLog,
    fingerprint_unchanged,
    read_table,
    repo_categories,
    save_figure,
    write_table,
)
from ..taxonomy import load_orchestration, load_run_taxonomy, load_smell_rules
from . import build, corpus, figures

log = logging.getLogger(__name__)

STAGE = "evolution"
OUTPUT_TABLES = ("dockerfile_versions", "base_image_changes", "dockerfile_histories", "release_summary")
FIGURES = ("evolution_instructions", "evolution_base_image_moves")
#: the taxonomies a content's summary depends on (the parse cache's key), and the one the tables do
PARSE_TAXONOMIES = ("run_commands.yaml", "orchestration.yaml", "smells.yaml")
CATEGORIES_FILE = "categories.yaml"


def code_hash(p: Paths) -> str:
    """The parser's code and the taxonomies it reads: the key of the parse cache."""
    h = hashlib.sha256()
    core = Path(df_core.__file__).parent
    for mod in sorted(core.glob("*.py")):
        h.update(mod.read_bytes())
    for name in PARSE_TAXONOMIES:
        h.update((p.taxonomy / name).read_bytes())
    return h.hexdigest()[:16]


def _fingerprint(p: Paths, archive_sha: str, tag_texts: list[bytes]) -> str:
    h = hashlib.sha256(code_hash(p).encode())
    h.update(archive_sha.encode())
    for data in tag_texts:
        h.update(data)
    for f in [*sorted(Path(__file__).parent.glob("*.py")), p.taxonomy / CATEGORIES_FILE]:
        h.update(f.read_bytes())
    for t in (p.table("interim", "repos"), p.table("processed", "projects")):
        if t.exists():
            h.update(t.read_bytes())
    return h.hexdigest()[:16]


def _up_to_date(p: Paths, fp: str) -> bool:
    outputs = [p.table("processed", t) for t in OUTPUT_TABLES]
    outputs += [p.reports / "figures" / f"{f}.{e}" for f in FIGURES for e in ("png", "pdf")]
    return fingerprint_unchanged(p.table("processed", OUTPUT_TABLES[-1]), fp, outputs)


def _categories(p: Paths) -> tuple[dict[str, str], dict[str, str]]:
    """``(owner/repo lower -> repos.csv spelling, repo -> category)``."""
    repos = read_table("repos", p)
    projects = read_table("projects", p) if p.table("processed", "projects").exists() else None
    cats = repo_categories(repos, projects)
    return ({r.lower(): r for r in repos["repo"]},
            dict(zip(cats["repo"], cats["category"], strict=True)))


@writes_set("evolution")
def run(p: Paths, progress: Progress = no_progress, force: bool = False) -> dict[str, Any]:
    """Run the stage; returns counts (members, distinct contents, parsed now, rows, errors)."""
    start = time.perf_counter()
    pkg = p.package_dir()
    archive = corpus.archive_path(pkg)
    run_tax, rules = load_run_taxonomy(p.taxonomy), load_orchestration(p.taxonomy)
    smell_rules = load_smell_rules(p.taxonomy)
    errors = ErrorLog(STAGE)
    tag_texts = corpus.tag_lists(pkg, errors)  # regular files only, bounded
    archive_sha = corpus.archive_sha256(archive)
    fp = _fingerprint(p, archive_sha, list(tag_texts.values()))
    if not force and _up_to_date(p, fp):
        log.info("evolution: inputs unchanged; nothing to do (use --force to rerun)")
        return {"members": 0, "skipped": 1}
    tags = corpus.read_tags(pkg, errors, tag_texts)
    cache_dir = p.cache / "evolution"
    cache = cache_dir / f"parsed-{code_hash(p)}.json"
    cached = corpus.cached_summaries(cache)
    members = corpus.member_index(archive_sha, cache_dir)
    contents: dict[str, bytes] = {}
    if members is None or not {h for _, h in members.files} <= set(cached):
        members, contents = corpus.read_members(archive)
        corpus.save_member_index(members, archive_sha, cache_dir)
    corpus.record_too_large(members, archive, errors)
    versions = corpus.versions_of(members.files, tags, archive, errors)
    shas = {v.sha256 for v in versions}
    sums, parsed_now = corpus.summaries(shas, cached, contents, cache, run_tax, rules,
                                           smell_rules, progress)
    canon, categories = _categories(p)
    frames = {"dockerfile_versions": build.versions_frame(versions, sums, tags, canon, categories)}
    frames["base_image_changes"] = build.changes_frame(frames["dockerfile_versions"])
    frames["dockerfile_histories"] = build.histories_frame(frames["dockerfile_versions"],
                                                           frames["base_image_changes"])
    frames["release_summary"] = build.releases_frame(frames["dockerfile_versions"])
    _log_unparsed(frames["dockerfile_versions"], archive, errors)
    draw(p, frames)
    extra = {"archive": str(archive), "archive_sha256": archive_sha, "distinct_contents": len(shas)}
    for name in OUTPUT_TABLES:
        last = name == OUTPUT_TABLES[-1]
        write_table(frames[name], name, p, extra_meta={**extra, **({"inputs_fingerprint": fp}
                                                                    if last else {})})
    errors.write(p)
    counts = {"members": len(versions), "distinct": len(shas), "parsed": parsed_now,
              **{n: len(frames[n]) for n in OUTPUT_TABLES}, "errors": len(errors),
              "seconds": round(time.perf_counter() - start, 1)}
    log.info("evolution: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _log_unparsed(versions: pd.DataFrame, archive: Path, errors: ErrorLog) -> None:
    """One error row per distinct content the parser rejected (not one per release copy),
    and one log line for them all (most are tensorflow's partial Dockerfiles, without FROM)."""
    bad = versions[versions["parse_status"] == "error"]
    rows = []
    for _, g in bad.groupby("sha256", sort=False):
        first = g.iloc[0]
        others = f" (and {len(g) - 1} other copies of the same content)" if len(g) > 1 else ""
        rows.append({"stage": STAGE, "item": str(first["member"]), "error_type": "DockerfileError",
                     "message": f"{archive}:{first['member']}{others}: {first['error']}"})
    errors.extend(rows)
    if rows:
        log.warning("evolution: %d distinct contents (%d copies) are not Dockerfiles the parser "
                    "reads; listed in data/interim/%s_errors.csv", len(rows), len(bad), STAGE)


def draw(p: Paths, frames: dict[str, pd.DataFrame]) -> None:
    out = p.reports / "figures"
    save_figure(figures.fig_lines(frames["release_summary"]), FIGURES[0], out)
    h = frames["dockerfile_histories"]
    grid = build.moves(frames["base_image_changes"])
    save_figure(figures.fig_heatmap(grid, len(h), int((h["n_contents"] == 1).sum())), FIGURES[1], out)
