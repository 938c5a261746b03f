"""Figure 5 inputs from the package's ``RQ4/files-v2`` rows, in both modes."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..taxonomy import load_categories


def _num(v: str) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class FileTypeRows:
    """The package's RQ4/files-v2 rows (``package_file_types_*``), categories canonical."""

    top_num: list[dict[str, str]] = field(default_factory=list)
    num: list[dict[str, str]] = field(default_factory=list)
    top_size: list[dict[str, str]] = field(default_factory=list)
    repos: list[dict[str, str]] = field(default_factory=list)


def _paper_figure5(ft: FileTypeRows) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The published box values and bars, with the paper's own categories."""
    rank: dict[tuple[str, str], int] = {}
    storage: dict[tuple[str, str], float | None] = {}
    counters: dict[str, int] = defaultdict(int)
    for r in ft.top_num:
        counters[r["category"]] += 1
        rank[(r["category"], r["file_type"])] = counters[r["category"]]
        storage[(r["category"], r["file_type"])] = _num(r["perc_storage"])
    by_num = [
        {"mode": "paper", "category": r["category"], "file_type": r["file_type"],
         "rank": rank[(r["category"], r["file_type"])], "repo": None,
         "perc_number": _num(r["perc_number"]), "perc_storage": storage[(r["category"], r["file_type"])]}
        for r in ft.num if (r["category"], r["file_type"]) in rank
    ]
    by_size: list[dict[str, Any]] = []
    counters = defaultdict(int)
    for r in ft.top_size:
        counters[r["category"]] += 1
        by_size.append({
            "mode": "paper", "category": r["category"], "file_type": r["file_type"],
            "rank": counters[r["category"]], "size_mb": _num(r["size"]),
            "perc_size": _num(r["perc_size"]), "n_repos": None,
        })
    return by_num, by_size


def _per_repo_types(rows: list[dict[str, str]], categories: Mapping[str, str]) -> dict[str, dict[str, list[tuple[str, dict[str, float]]]]]:
    """category -> file type -> [(repo, summed shares and bytes)], exact duplicate rows dropped."""
    seen_rows: set[tuple[str, ...]] = set()
    per: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        row_key = tuple(r[k] for k in ("repo", "file_type", "total_size", "total_number", "perc_size", "perc_num"))
        if row_key in seen_rows:
            continue
        seen_rows.add(row_key)
        acc = per.setdefault((r["repo"], r["file_type"]), {"num": 0.0, "size": 0.0, "bytes": 0.0})
        acc["num"] += _num(r["perc_num"]) or 0.0
        acc["size"] += _num(r["perc_size"]) or 0.0
        acc["bytes"] += _num(r["total_size"]) or 0.0
    by_cat: dict[str, dict[str, list[tuple[str, dict[str, float]]]]] = defaultdict(lambda: defaultdict(list))
    for (repo, ftype), acc in per.items():
        cat = categories.get(repo, "")
        if cat:
            by_cat[cat][ftype].append((repo, acc))
    return by_cat


def _corrected_figure5(ft: FileTypeRows, categories: Mapping[str, str], top: int
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-repository rows, deduplicated, our categories, top types by the median share."""
    by_cat = _per_repo_types(ft.repos, categories)
    by_num: list[dict[str, Any]] = []
    by_size: list[dict[str, Any]] = []
    for cat in load_categories().ordered(by_cat):
        types = by_cat[cat]
        ranked = sorted(types, key=lambda t: (-statistics.median(a["num"] for _, a in types[t]), t))[:top]
        for i, t in enumerate(ranked, 1):
            mean_storage = statistics.fmean(a["size"] for _, a in types[t])
            for repo, a in sorted(types[t]):
                by_num.append({
                    "mode": "corrected", "category": cat, "file_type": t, "rank": i, "repo": repo,
                    "perc_number": round(a["num"], 6), "perc_storage": round(mean_storage, 6),
                })
        ranked_s = sorted(types, key=lambda t: (-statistics.median(a["bytes"] for _, a in types[t]), t))[:top]
        for i, t in enumerate(ranked_s, 1):
            by_size.append({
                "mode": "corrected", "category": cat, "file_type": t, "rank": i,
                "size_mb": round(statistics.median(a["bytes"] for _, a in types[t]) / 1024**2, 4),
                "perc_size": round(statistics.fmean(a["size"] for _, a in types[t]), 6),
                "n_repos": len(types[t]),
            })
    return by_num, by_size


def figure5_inputs(
    ft: FileTypeRows, categories: Mapping[str, str], top: int = 12
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(file_types_by_num, file_types_by_size) in both modes.

    paper: the published box values and bars of ``Top10_files_by_num(_1).csv`` and
    ``Top10_files_by_size.csv`` (mean perc_size from the ``_1`` file as published), with
    the paper's own categories.  corrected: from the per-repository rows of
    ``layers_files_*.csv`` with exact duplicate rows dropped, the repositories' categories
    taken from ``categories``, and the top types chosen by the **median** per-repository
    share (the paper says median; its code used the mean).
    """
    num_p, size_p = _paper_figure5(ft)
    num_c, size_c = _corrected_figure5(ft, categories, top)
    return pd.DataFrame(num_p + num_c), pd.DataFrame(size_p + size_c)
