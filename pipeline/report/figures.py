"""The paper's figures: matplotlib drawing only.

Each ``fig_*`` function turns a frame into a :class:`matplotlib.figure.Figure` (object API,
no pyplot state, so it works headless and in notebooks alike); :func:`draw` draws the
:class:`~pipeline.report.artefacts.FigureSpec` of an artefact; :func:`pipeline.tables.save_figure` writes
PNG + PDF. Colours are the paper's Table 1 colours from ``taxonomy/categories.yaml``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..tables import UNLABELLED
from ..taxonomy import load_categories
from .frames import display, ordered

if TYPE_CHECKING:
    from .artefacts import FigureSpec

NO_COLOUR = "#cccccc"


def colour(category: str, default: str | None = NO_COLOUR) -> str | None:
    """The figure colour of a category; ``default`` for other values (``Unlabelled``)."""
    return load_categories().colour(category, default)


def _short(v: Any, n: int) -> str:
    """``v`` as a tick label of at most ``n`` characters (``…`` marks a cut)."""
    s = " ".join(str(v).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _floats(s: pd.Series) -> np.ndarray:
    """A numeric series as float64 with NaN for missing (nullable dtypes included)."""
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def to_image(fig: Figure) -> Any:
    """The figure as an IPython PNG image (for notebooks; no pyplot backend needed)."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return Image(data=buf.getvalue(), format="png")



def fig_funnel(funnel: pd.DataFrame, title: str) -> Figure:
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
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def fig_purpose_tree(
    nodes: Sequence[Mapping[str, Any]], counts: Mapping[str, int] | None, title: str,
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
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _category_panels(df: pd.DataFrame) -> tuple[Figure, np.ndarray, list[str]]:
    """A 2 x 3 grid of panels and the categories of ``df`` to draw (Table 1 order, no
    Unlabelled); panel ``i`` is for category ``i``."""
    cats = [c for c in ordered(df["category"]) if c != UNLABELLED]
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


def _pivot_by_category(shares: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``key`` x ``category`` table of ``pct`` (largest total first) and the categories."""
    piv = shares.pivot_table(index="key", columns="category", values="pct", aggfunc="sum").fillna(0)
    piv = piv.loc[piv.sum(axis=1).sort_values(ascending=False).index]
    return piv, [c for c in ordered(piv.columns) if c != UNLABELLED]


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


DRAWERS = {"funnel": fig_funnel, "purpose_tree": fig_purpose_tree,
           "category_boxplots": fig_category_boxplots, "category_bars": fig_category_bars,
           "stacked_bars": fig_stacked_bars, "grouped_bars": fig_grouped_bars}
"""FigureSpec.kind -> the drawing function."""


def draw(spec: FigureSpec) -> Figure:
    """The matplotlib figure of an artefact's :class:`FigureSpec`."""
    fn: Any = DRAWERS[spec.kind]
    return fn(*spec.data, title=spec.title, **spec.options)
