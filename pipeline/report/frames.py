"""The paper's tables as frames: pure functions from our tables to tidy frames.

Categories are held in our canonical spelling and displayed with the paper's Table 1
names: both from ``taxonomy/categories.yaml`` (:func:`pipeline.taxonomy.load_categories`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core.dockerfile import PLOTTED_INSTRUCTIONS
from ..tables import HUMAN_SOURCES, UNLABELLED
from ..taxonomy import load_categories

INSTRUCTIONS_3A: tuple[str, ...] = PLOTTED_INSTRUCTIONS
"""The 12 instructions plotted in Figure 3a."""

TABLE1_COLUMNS: dict[str, str] = {
    "size_kb": "Size",
    "commits": "Commits",
    "contributors": "Contrib",
    "forks": "Forks",
    "stars": "Stars",
    "releases": "Releases",
    "dockerfiles": "Dockerfiles",
}
"""Table 1 median columns: our column -> the paper's header."""


def canonical_category(name: str) -> str:
    """Map any of the paper's spellings of a category to our canonical name (KeyError if none)."""
    return load_categories().canonical(name)


def canon(cat: str) -> str:
    """:func:`canonical_category`, or ``cat`` itself when it is no category."""
    try:
        return canonical_category(cat)
    except KeyError:
        return cat


def display(category: str) -> str:
    """The printed label of a category (the paper's Table 1 names); other values as they are."""
    return load_categories().display(category)


def label_mix(categories: pd.DataFrame, repos: Iterable[str] | None = None) -> dict[str, str]:
    """``category -> "n manual / m predicted"`` over ``repos`` (all when None); manual
    counts every label a person gave (the study's and reviewed ones)."""
    df = categories if repos is None else categories[categories["repo"].isin(set(repos))]
    out: dict[str, str] = {}
    for cat, g in df.groupby("category"):
        n_manual = int(g["category_source"].isin(HUMAN_SOURCES).sum())
        n_other = len(g) - n_manual
        out[str(cat)] = f"{n_manual} manual / {n_other} predicted"
    return out


def ordered(cats: Iterable[str]) -> list[str]:
    """Categories in Table 1 order."""
    return load_categories().ordered(cats)


def table1_frame(
    repos: pd.DataFrame,
    categories: pd.DataFrame,
    dockerfiles: Mapping[str, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Table 1: repositories per category (count, %) and per-category medians.

    Counts and shares are over every studied repository; medians over the repositories of
    the final dataset (``in_final_dataset``), as the study did.  ``dockerfiles`` maps repo
    -> number of Dockerfiles (default: ``repos.total_dockerfiles``, the study's count).
    """
    df = repos.drop(columns=["category", "category_source"], errors="ignore").merge(
        categories[["repo", "category", "category_source"]], on="repo", how="left")
    df["category"] = df["category"].fillna(UNLABELLED)
    df["category_source"] = df["category_source"].fillna("")
    if dockerfiles is None:
        df["dockerfiles"] = df["total_dockerfiles"]
    else:
        df["dockerfiles"] = df["repo"].map(pd.Series(dockerfiles)).fillna(0)
    total = len(df)
    final = df[df["in_final_dataset"].astype(bool)]
    rows: list[dict[str, Any]] = []
    for cat in [*ordered(df["category"]), "Total"]:
        g = df if cat == "Total" else df[df["category"] == cat]
        gf = final if cat == "Total" else final[final["category"] == cat]
        row: dict[str, Any] = {
            "category": cat,
            "repos": len(g),
            "share_pct": round(100.0 * len(g) / total, 2) if total else np.nan,
            "n_manual": int(g["category_source"].isin(HUMAN_SOURCES).sum()),
            "n_predicted": int(len(g) - g["category_source"].isin(HUMAN_SOURCES).sum()),
        }
        for col in TABLE1_COLUMNS:
            vals = pd.to_numeric(gf[col], errors="coerce").dropna().astype(float)
            row[col] = float(vals.median()) if len(vals) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def with_category(df: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """``df`` (with a ``repo`` column) joined to the repository categories."""
    out = df.drop(columns=["category"], errors="ignore").merge(
        categories[["repo", "category"]], on="repo", how="left")
    out["category"] = out["category"].fillna(UNLABELLED)
    return out


def median_shares(
    shares: pd.DataFrame, categories: pd.DataFrame, item_col: str, value_col: str = "percentage"
) -> pd.DataFrame:
    """Median per (category, item) of per-repository percentages (the box medians)."""
    df = with_category(shares, categories)
    g = df.groupby(["category", item_col])[value_col]
    out = g.median().rename("median").to_frame()
    out["q1"] = g.quantile(0.25)
    out["q3"] = g.quantile(0.75)
    out["n_repos"] = g.size()
    return out.reset_index()


def base_image_shares(
    base_images: pd.DataFrame,
    categories: pd.DataFrame,
    key_col: str,
    top: int | None = 10,
    n_repos: int | None = None,
) -> pd.DataFrame:
    """% of repositories with a parsed FROM that use each ``key_col`` value, per category.

    ``base_images`` has one row per (repo, FROM) with ``key_col`` holding the base-image
    keyword (Figure 4a) or type (Figure 4b); empty keys are ignored.  The denominator is
    the number of distinct repositories with at least one FROM (399 in the study).
    ``top`` keeps the most used keys per category (the study kept 10).  ``n_repos``
    overrides the denominator (default: distinct repositories in ``base_images``).
    """
    if n_repos is None:
        n_repos = base_images["repo"].nunique()
    df = with_category(base_images, categories)
    df = df[df[key_col].notna() & (df[key_col].astype(str) != "")]
    counts = df.groupby(["category", key_col])["repo"].nunique().rename("repos").reset_index()
    counts = counts.rename(columns={key_col: "key"})
    counts["pct"] = 100.0 * counts["repos"] / n_repos if n_repos else np.nan
    counts["n_repos_with_from"] = n_repos
    counts = counts.sort_values(["category", "repos", "key"], ascending=[True, False, True])
    if top is not None:
        counts = counts.groupby("category", group_keys=False).head(top)
    return counts.reset_index(drop=True)
