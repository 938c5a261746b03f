"""Table 2 per category from per-repository rows, and the categories it groups by.

Both paths of the stage meet here: :func:`table2` takes the per-repository rows of the
replication package (:func:`pipeline.images.package.repo_stats`) or of the live registry
(:func:`pipeline.images.live.live_table2`) and an explicit repo -> category mapping.
Categories come from ``data/processed/projects.csv`` when it exists, else from
``data/interim/repos.csv`` (:func:`pipeline.tables.repo_categories`, as in the report);
unlabelled repositories are left out (logged).
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..config import Paths
from ..core import modes
from ..tables import HUMAN_SOURCES, UNLABELLED, read_table, repo_categories
from ..taxonomy import load_categories

log = logging.getLogger(__name__)


def repo_category_maps(p: Paths) -> tuple[dict[str, str], dict[str, str]]:
    """(repo -> category, repo -> category source) of the labelled repositories.

    :func:`pipeline.tables.repo_categories` of ``projects.csv`` (when it exists) over
    ``repos.csv``, the rule the report uses; unlabelled repositories are left out.
    """
    repos = read_table("repos", p)
    proc = p.table("processed", "projects")
    projects = read_table("projects", p) if proc.exists() else None
    cats = repo_categories(repos, projects)
    labelled = cats[cats["category"] != UNLABELLED]
    if len(cats) - len(labelled):
        origin = proc if projects is not None and len(projects) else p.table("interim", "repos")
        log.info("categories from %s: %d labelled, %d unlabelled repositories left out",
                 origin, len(labelled), len(cats) - len(labelled))
    return (dict(zip(labelled["repo"], labelled["category"], strict=True)),
            dict(zip(labelled["repo"], labelled["category_source"], strict=True)))


def size_text(size_bytes: float) -> str:
    """``11635`` -> ``'11.36 KiB'`` (binary units, kept)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    if size_bytes <= 0:
        return "0 B"
    i = min(int(math.floor(math.log(size_bytes, 1024))), len(units) - 1)
    return f"{round(size_bytes / 1024**i, 2)} {units[i]}"


def median_or_none(vals: Iterable[Any]) -> float | None:
    v = [float(x) for x in vals if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(statistics.median(v)) if v else None


def table2(
    stats: pd.DataFrame,
    categories: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
    mode: str | None = None,
) -> pd.DataFrame:
    """Table 2 per category from :func:`repo_stats` rows and an explicit repo -> category map.

    Repositories without a category in ``categories`` are left out.  ``mode`` defaults to
    the ``mode`` column of ``stats`` (one mode per call).
    """
    sources = sources or {}
    rows = []
    for m in ([mode] if mode else sorted(stats["mode"].unique()) if len(stats) else []):
        st = stats[stats["mode"] == m] if "mode" in stats.columns else stats
        st = st.assign(category=st["repo"].map(lambda r: categories.get(r, "")))
        st = st[st["category"] != ""]
        order = load_categories().ordered(st["category"])
        for cat in order:
            g = st[st["category"] == cat]
            gc = g[g["config_rows"] > 0]
            gl = g[g["layers"].notna()]
            med_conf = median_or_none(gc["conf_size"])
            archs = sorted({a for v in gc["architectures"] for a in json.loads(v)})
            oses = sorted({a for v in gc["oses"] for a in json.loads(v)})
            srcs = [sources.get(r, "") for r in gc["repo"]]
            # rows measured from a live registry ('live') keep units as corrected ones do
            pol = modes.BY_NAME.get(m, modes.CORRECTED)
            conf = None if med_conf is None else pol.config_size(med_conf)
            rows.append({
                "mode": m,
                "category": cat,
                "conf_size": conf,
                "conf_size_bytes": med_conf,
                "conf_size_text": size_text(med_conf) if med_conf is not None else None,
                "arch": ", ".join(archs),
                "os": ", ".join(oses),
                "env": median_or_none(gc["env"]),
                "layers": median_or_none(gl["layers"]),
                "rootfs": median_or_none(gc["rootfs"]),
                "layers_size": median_or_none(gl["layers_size"]),
                "files": None,
                "max_level": None,
                "n_repos": len(gc),
                "n_layer_repos": len(gl),
                "n_manual": sum(1 for s in srcs if s in HUMAN_SOURCES),
                "n_predicted": sum(1 for s in srcs if s == "predicted"),
            })
    return pd.DataFrame(rows)



def mean_or_none(s: pd.Series) -> float | None:  # type: ignore[type-arg]
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None
