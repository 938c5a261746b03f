"""The paper's tables and figures, drawn from our processed tables.

Pure functions: each ``*_table`` function turns input frames into a tidy frame, each
``fig_*`` function turns a frame into a :class:`matplotlib.figure.Figure` (object API, no
pyplot state, so it works headless and in notebooks alike).  :func:`save_figure` writes
PNG + PDF, :func:`save_table` writes CSV + Markdown.

Categories are held in our canonical spelling and displayed with the paper's Table 1
names, colours included: both from ``taxonomy/categories.yaml``
(:func:`pipeline.taxonomy.load_categories`).
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .core.dockerfile import PLOTTED_INSTRUCTIONS
from .tables import UNLABELLED, atomic_path, atomic_write_text
from .taxonomy import load_categories

log = logging.getLogger(__name__)

NO_COLOUR = "#cccccc"

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


def display(category: str) -> str:
    """The printed label of a category (the paper's Table 1 names); other values as they are."""
    return load_categories().display(category)


def colour(category: str, default: str | None = NO_COLOUR) -> str | None:
    """The figure colour of a category; ``default`` for other values (``Unlabelled``)."""
    return load_categories().colour(category, default)


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------


def label_mix(categories: pd.DataFrame, repos: Iterable[str] | None = None) -> dict[str, str]:
    """``category -> "n manual / m predicted"`` over ``repos`` (all when None)."""
    df = categories if repos is None else categories[categories["repo"].isin(set(repos))]
    out: dict[str, str] = {}
    for cat, g in df.groupby("category"):
        n_manual = int((g["category_source"] == "manual").sum())
        n_other = len(g) - n_manual
        out[str(cat)] = f"{n_manual} manual / {n_other} predicted"
    return out


def _ordered(cats: Iterable[str]) -> list[str]:
    return load_categories().ordered(cats)


# --------------------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------------------


def table1(
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
    for cat in [*_ordered(df["category"]), "Total"]:
        g = df if cat == "Total" else df[df["category"] == cat]
        gf = final if cat == "Total" else final[final["category"] == cat]
        row: dict[str, Any] = {
            "category": cat,
            "repos": len(g),
            "share_pct": round(100.0 * len(g) / total, 2) if total else np.nan,
            "n_manual": int((g["category_source"] == "manual").sum()),
            "n_predicted": int(len(g) - (g["category_source"] == "manual").sum()),
        }
        for col in TABLE1_COLUMNS:
            vals = pd.to_numeric(gf[col], errors="coerce").dropna().astype(float)
            row[col] = float(vals.median()) if len(vals) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# per-category shares (Figures 3a, 3b) and base images (Figures 4a, 4b)
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------


def _short(v: Any, n: int) -> str:
    """``v`` as a tick label of at most ``n`` characters (``…`` marks a cut)."""
    s = " ".join(str(v).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _floats(s: pd.Series) -> np.ndarray:
    """A numeric series as float64 with NaN for missing (nullable dtypes included)."""
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def _fmt(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in rec) + " |")
    return "\n".join(lines) + "\n"


def save_table(df: pd.DataFrame, name: str, out_dir: Path) -> list[Path]:
    """Write ``<name>.csv`` and ``<name>.md`` under ``out_dir`` atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    atomic_write_text(csv_path, df.to_csv(index=False))
    atomic_write_text(md_path, to_markdown(df))
    return [csv_path, md_path]


def to_image(fig: Figure) -> Any:
    """The figure as an IPython PNG image (for notebooks; no pyplot backend needed)."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return Image(data=buf.getvalue(), format="png")


def save_figure(fig: Figure, name: str, out_dir: Path) -> list[Path]:
    """Write ``<name>.png`` (150 dpi) and ``<name>.pdf`` under ``out_dir``.

    The PDF carries no creation date, so the same data give the same bytes on every run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        target = out_dir / f"{name}.{ext}"
        meta = {"CreationDate": None} if ext == "pdf" else None
        with atomic_path(target, "wb") as fh:
            fig.savefig(fh, dpi=150, bbox_inches="tight", format=ext, metadata=meta)
        paths.append(target)
    return paths


# --------------------------------------------------------------------------------------
# Figure 1: the funnel
# --------------------------------------------------------------------------------------


def fig_funnel(funnel: pd.DataFrame) -> Figure:
    """Figure 1 as a funnel: repositories left after each collection step (log scale)."""
    df = funnel.sort_values("order").reset_index(drop=True)
    n = len(df)
    fig = Figure(figsize=(9, 0.45 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    ax.barh(y, df["count"], color="#4C72B0", height=0.6)
    labels = ["\n".join(textwrap.wrap(str(d), 42)) for d in df["description"]]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(100, float(df["count"].max()) * 3)
    for yi, (_, r) in zip(y, df.iterrows(), strict=True):
        text = f"{int(r['count']):,}"
        paper = r.get("paper_count")
        if paper is not None and not pd.isna(paper):
            text += f"  (paper: {int(paper):,})"
        ax.text(float(r["count"]) * 1.08, yi, text, va="center", fontsize=8)
    ax.set_xlabel("Repositories left after the step (log scale)")
    ax.set_title("Figure 1: collection funnel, our counts", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# Figure 2: the purpose taxonomy
# --------------------------------------------------------------------------------------


def fig_purpose_tree(
    nodes: Sequence[Mapping[str, Any]], counts: Mapping[str, int] | None = None,
    note: str = "(n) = repositories",
) -> Figure:
    """Figure 2: the purpose taxonomy as a tree, with repositories per purpose.

    ``nodes``: dicts with ``id``, ``name`` and ``parent`` (None for the 21 majors).
    ``counts``: purpose id -> number of repositories (omitted when None).
    """
    counts = counts or {}
    majors = [n for n in nodes if not n.get("parent")]
    children: dict[str, list[Mapping[str, Any]]] = {}
    for n in nodes:
        if n.get("parent"):
            children.setdefault(str(n["parent"]), []).append(n)

    def label(n: Mapping[str, Any]) -> str:
        c = counts.get(str(n["id"]))
        return f"{n['name']} ({c})" if c is not None else str(n["name"])

    # rows: each major takes max(1, #children) rows
    rows_per = [max(1, len(children.get(str(m["id"]), []))) for m in majors]
    total = sum(rows_per)
    fig = Figure(figsize=(9, 0.34 * total + 1.0))
    ax = fig.add_subplot()
    ax.set_xlim(0, 8.5)
    ax.set_ylim(-0.8, total)
    ax.axis("off")
    root_y = (total - 1) / 2
    box = {"boxstyle": "round,pad=0.3", "linewidth": 0.8}
    ax.text(0.5, root_y, "Purpose", ha="center", va="center", fontsize=10, weight="bold",
            bbox={**box, "facecolor": "#333333", "edgecolor": "#333333"}, color="white")
    row = total - 1
    for m, k in zip(majors, rows_per, strict=True):
        ys = [row - i for i in range(k)]
        my = float(np.mean(ys))
        ax.plot([1.0, 1.4, 1.4, 1.8], [root_y, root_y, my, my], color="#999999", lw=0.6)
        ax.text(1.9, my, label(m), ha="left", va="center", fontsize=8,
                bbox={**box, "facecolor": "#d9d9d9", "edgecolor": "#777777"})
        x0 = 1.9 + 0.064 * len(label(m)) + 0.2  # right edge of the major's box (approx.)
        for ch, cy in zip(children.get(str(m["id"]), []), ys, strict=False):
            ax.plot([x0, 4.6, 4.6, 4.9], [my, my, cy, cy], color="#999999", lw=0.6)
            ax.text(5.0, cy, label(ch), ha="left", va="center", fontsize=8,
                    bbox={**box, "facecolor": "white", "edgecolor": "#777777"})
        row -= k
    n_sub = sum(len(v) for v in children.values())
    title = f"Figure 2: purposes of using Docker ({len(majors)} purposes, {n_sub} subcategories)"
    if counts:
        title += f"\n{note}"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# one panel per category (Figures 3a, 3b, 5a, 5b)
# --------------------------------------------------------------------------------------


def _category_panels(df: pd.DataFrame) -> tuple[Figure, np.ndarray, list[str]]:
    """A 2 x 3 grid of panels and the categories of ``df`` to draw (Table 1 order, no
    Unlabelled); panel ``i`` is for category ``i``."""
    cats = [c for c in _ordered(df["category"]) if c != UNLABELLED]
    fig = Figure(figsize=(13, 8.5))
    return fig, fig.subplots(2, 3).ravel(), cats


def _finish_panels(fig: Figure, axes: np.ndarray, n_used: int, ylabel: str, title: str) -> None:
    """Style the ``n_used`` drawn panels, hide the others, label the rows, add the title."""
    for ax in axes[:n_used]:
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[n_used:]:
        ax.axis("off")
    for ax in axes[::3]:
        ax.set_ylabel(ylabel, fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()


def fig_category_boxplots(
    df: pd.DataFrame,
    item_col: str,
    value_col: str,
    items: Sequence[str] | None,
    title: str,
    ylabel: str,
    line: pd.DataFrame | None = None,
    line_label: str = "",
) -> Figure:
    """Box plots of per-repository values, one panel per category (2 x 3 facets).

    ``df`` needs ``category``, ``item_col`` and ``value_col``.  ``items`` fixes the x order
    for every panel (None: each panel shows its own items in ``df`` order).  ``line``
    (``category``, ``item_col``, ``value``) is drawn as a grey line with dots (Figure 5a).
    """
    fig, axes, cats = _category_panels(df)
    for ax, cat in zip(axes, cats, strict=False):
        g = df[df["category"] == cat]
        order = list(items) if items is not None else list(dict.fromkeys(g[item_col]))
        data = [_floats(g.loc[g[item_col] == it, value_col]) for it in order]
        pos = np.arange(1, len(order) + 1)
        data = [d[~np.isnan(d)] for d in data]
        nonempty = [i for i, d in enumerate(data) if len(d)]
        if nonempty:
            ax.boxplot([data[i] for i in nonempty], positions=pos[nonempty], widths=0.6,
                       flierprops={"markersize": 2, "alpha": 0.5},
                       medianprops={"color": "black"},
                       patch_artist=True, boxprops={"facecolor": colour(cat),
                                                    "alpha": 0.7})
        if line is not None:
            lg = line[line["category"] == cat].set_index(item_col)["value"]
            ys = _floats(lg.reindex(order))
            ax.plot(pos, ys, color="grey", lw=1, marker="o", markersize=3,
                    markerfacecolor="#1f77b4", label=line_label)
        ax.set_xticks(pos, [_short(o, 16) for o in order],
                      rotation=60, ha="right", fontsize=7)
        ax.set_xlim(0.3, len(order) + 0.7)
        n = g["repo"].dropna().nunique() if "repo" in g else 0
        ax.set_title(f"{display(cat)} (n={n})" if n else display(cat), fontsize=9)
    if line is not None and line_label:
        axes[0].legend(fontsize=7, loc="upper right")
    _finish_panels(fig, axes, len(cats), ylabel, title)
    return fig


def fig_category_bars(
    df: pd.DataFrame, item_col: str, value_col: str, title: str, ylabel: str
) -> Figure:
    """Figure 5b: bars of ``value_col`` per ``item_col``, one panel per category."""
    fig, axes, cats = _category_panels(df)
    for ax, cat in zip(axes, cats, strict=False):
        g = df[df["category"] == cat].groupby(item_col, sort=False)[value_col].sum()
        g = g.sort_values(ascending=False)
        x = np.arange(len(g))
        ax.bar(x, g.to_numpy(), color=colour(cat))
        ax.set_xticks(x, [_short(k, 18) for k in g.index],
                      rotation=60, ha="right", fontsize=7)
        ax.set_title(display(cat), fontsize=9)
    _finish_panels(fig, axes, len(cats), ylabel, title)
    return fig


# --------------------------------------------------------------------------------------
# bars (Figures 4a, 4b)
# --------------------------------------------------------------------------------------


def _pivot_by_category(shares: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``key`` x ``category`` table of ``pct`` (largest total first) and the categories."""
    piv = shares.pivot_table(index="key", columns="category", values="pct", aggfunc="sum").fillna(0)
    piv = piv.loc[piv.sum(axis=1).sort_values(ascending=False).index]
    return piv, [c for c in _ordered(piv.columns) if c != UNLABELLED]


def fig_stacked_bars(shares: pd.DataFrame, title: str, ylabel: str) -> Figure:
    """Figure 4a: stacked bars of ``pct`` per ``key``, stacked by category."""
    piv, cats = _pivot_by_category(shares)
    fig = Figure(figsize=(10, 5.5))
    ax = fig.add_subplot()
    x = np.arange(len(piv))
    bottom = np.zeros(len(piv))
    for cat in cats:
        vals = piv[cat].to_numpy()
        ax.bar(x, vals, bottom=bottom, label=display(cat), color=colour(cat, None))
        bottom += vals
    for xi, tot in zip(x, bottom, strict=True):
        ax.text(float(xi), float(tot) + 0.5, f"{tot:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, list(piv.index), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(title="Category", fontsize=8, title_fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def fig_grouped_bars(shares: pd.DataFrame, title: str, ylabel: str) -> Figure:
    """Figure 4b: grouped (dodged) bars of ``pct`` per ``key``, one bar per category."""
    piv, cats = _pivot_by_category(shares)
    fig = Figure(figsize=(12, 5.5))
    ax = fig.add_subplot()
    x = np.arange(len(piv))
    w = 0.8 / max(1, len(cats))
    for i, cat in enumerate(cats):
        ax.bar(x - 0.4 + w * (i + 0.5), piv[cat].to_numpy(), width=w, label=display(cat),
               color=colour(cat, None))
    labels = ["\n".join(textwrap.wrap(" ".join(str(k).split()), 18)) for k in piv.index]
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(title="Category", fontsize=8, title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
